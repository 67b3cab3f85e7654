/**
 * PowerGate over a scripted browser: a window whose battery, visibility,
 * wake lock and Web Locks the test drives. The lock manager here is a small
 * exclusive-lock queue with the Web Locks semantics the gate relies on
 * (grant in request order, release when the callback's promise settles,
 * abort a queued request through its signal); the real one is exercised by
 * test/e2e/pwa.e2e.ts. BroadcastChannel is Node's own.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { PowerGate, SETTINGS_KEY, type PowerState } from '../../../src/swarm/power-gate.ts'

class Locks {
  private held = false
  private readonly queue: Array<() => void> = []

  async request (_name: string, options: { signal?: AbortSignal }, cb: () => Promise<void>): Promise<void> {
    if (this.held) {
      await new Promise<void>((resolve, reject) => {
        const grant = (): void => { options.signal?.removeEventListener('abort', onAbort); resolve() }
        const onAbort = (): void => {
          this.queue.splice(this.queue.indexOf(grant), 1)
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))
        }
        options.signal?.addEventListener('abort', onAbort, { once: true })
        this.queue.push(grant)
      })
    }
    this.held = true
    try { await cb() } finally {
      this.held = false
      const next = this.queue.shift()
      if (next !== undefined) { this.held = true; next() }
    }
  }

  async query (): Promise<{ held: Array<{ name: string }> }> {
    return { held: this.held ? [{ name: 'essaim-volunteer' }] : [] }
  }
}

interface Scripted {
  win: Window
  battery: EventTarget & { charging: boolean, level: number }
  hide: (h: boolean) => void
  wakeLocks: { requested: number, active: number }
  storage: Map<string, string>
}

function scriptedWindow (opts: { locks: Locks, storage?: Map<string, string>, battery?: boolean, ua?: string }): Scripted {
  const battery = Object.assign(new EventTarget(), { charging: true, level: 1 })
  const storage = opts.storage ?? new Map<string, string>()
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState })
  const wakeLocks = { requested: 0, active: 0 }
  const navigator = {
    userAgent: opts.ua ?? 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120',
    hardwareConcurrency: 8,
    locks: opts.locks,
    getBattery: opts.battery === false ? undefined : async () => battery,
    wakeLock: {
      request: async () => {
        wakeLocks.requested++
        wakeLocks.active++
        const sentinel = Object.assign(new EventTarget(), {
          release: async () => { wakeLocks.active--; sentinel.dispatchEvent(new Event('release')) }
        })
        return sentinel
      }
    }
  }
  const win = {
    navigator,
    document,
    crossOriginIsolated: true,
    matchMedia: () => ({ matches: false }),
    localStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => { storage.set(k, v) } }
  } as unknown as Window
  const hide = (h: boolean): void => {
    document.visibilityState = h ? 'hidden' : 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
  }
  return { win, battery, hide, wakeLocks, storage }
}

/** Resolves when the gate's state satisfies `pred` (now or after a later change). */
async function until (gate: PowerGate, pred: (s: PowerState) => boolean): Promise<PowerState> {
  if (pred(gate.state)) return gate.state
  return await new Promise(resolve => {
    const on = (): void => { if (pred(gate.state)) { gate.removeEventListener('power:change', on); resolve(gate.state) } }
    gate.addEventListener('power:change', on)
  })
}

const gates: PowerGate[] = []
afterEach(() => { for (const g of gates.splice(0)) g.stop() })

async function started (s: Scripted, device?: 'phone' | 'desktop'): Promise<PowerGate> {
  const gate = new PowerGate(device === undefined ? { window: s.win } : { window: s.win, device })
  gates.push(gate)
  await gate.start()
  return gate
}

describe('PowerGate', () => {
  it('waits for consent, then lets compute through', async () => {
    const gate = await started(scriptedWindow({ locks: new Locks() }))
    expect(gate.state.reason).toBe('no-consent')
    const allowed = gate.waitUntilAllowed()
    gate.setConsent(true)
    await allowed
    expect(gate.state).toMatchObject({ compute: true, reason: 'running' })
  })

  it('rejects a wait with the abort reason', async () => {
    const gate = await started(scriptedWindow({ locks: new Locks() }))
    const ac = new AbortController()
    const wait = gate.waitUntilAllowed({ signal: ac.signal })
    ac.abort(new Error('shutting down'))
    await expect(wait).rejects.toThrow('shutting down')
    await expect(gate.waitUntilAllowed({ signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already')
  })

  it('a phone follows its charger; the screen wake lock only while computing on power', async () => {
    const s = scriptedWindow({ locks: new Locks(), ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile' })
    s.battery.charging = false
    const gate = await started(s)
    expect(gate.state.device).toBe('phone')
    gate.setConsent(true)
    expect(gate.state.reason).toBe('not-charging')
    expect(s.wakeLocks.requested).toBe(0)
    s.battery.charging = true
    s.battery.dispatchEvent(new Event('chargingchange'))
    await until(gate, st => st.wakeLock)
    expect(gate.state.reason).toBe('running')
    expect(s.wakeLocks.active).toBe(1)
    gate.setConsent(false)
    expect(s.wakeLocks.active).toBe(0)
    expect(gate.state.wakeLock).toBe(false)
  })

  it('asks a phone without the Battery API', async () => {
    const gate = await started(scriptedWindow({ locks: new Locks(), battery: false }), 'phone')
    gate.setConsent(true)
    expect(gate.state.reason).toBe('ask-charging')
    gate.answerCharging('charging')
    await until(gate, st => st.compute)
    gate.answerCharging('not-charging')
    expect(gate.state.reason).toBe('not-charging')
  })

  it('pauses when hidden unless background work is allowed', async () => {
    const s = scriptedWindow({ locks: new Locks() })
    const gate = await started(s)
    gate.setConsent(true)
    await until(gate, st => st.compute)
    s.hide(true)
    expect(gate.state.reason).toBe('hidden')
    gate.setAllowBackground(true)
    await until(gate, st => st.compute)
  })

  it('one tab of a profile computes; the other names it and takes over when it stops', async () => {
    const locks = new Locks()
    const a = await started(scriptedWindow({ locks }))
    const b = await started(scriptedWindow({ locks }))
    a.setConsent(true)
    await until(a, st => st.compute)
    const bSees = await until(b, st => st.lockOwner !== undefined)
    expect(bSees.reason).toBe('other-tab')
    b.setConsent(true)
    // b's lock request is queued behind a's, however long it waits.
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(b.state).toMatchObject({ compute: false, reason: 'other-tab' })
    expect(a.state.compute).toBe(true)
    a.setConsent(false)
    await until(b, st => st.compute)
    const aSees = await until(a, st => st.reason === 'other-tab')
    expect(aSees.compute).toBe(false)
  })

  it('keeps the budget and background settings, not the consent', async () => {
    const storage = new Map<string, string>()
    const first = await started(scriptedWindow({ locks: new Locks(), storage }))
    first.setConsent(true)
    first.setBudget({ threads: 3, dutyCycle: 0.25 })
    first.setAllowBackground(true)
    expect(first.restAfter(1000)).toBe(3000)
    first.stop()
    const second = await started(scriptedWindow({ locks: new Locks(), storage }))
    expect(second.state).toMatchObject({ consent: false, allowBackground: true, budget: { threads: 3, dutyCycle: 0.25 } })
    second.setBudget({ threads: undefined })
    expect(second.state.budget.threads).toBe(7)
    expect(second.state.userBudget).toEqual({ dutyCycle: 0.25 })
  })

  it('ignores unreadable or hostile stored settings', async () => {
    for (const raw of ['{', '"x"', '{"allowBackground":"yes","budget":{"threads":"9","dutyCycle":-4}}', '{"budget":{"threads":1e9}}']) {
      const gate = await started(scriptedWindow({ locks: new Locks(), storage: new Map([[SETTINGS_KEY, raw]]) }))
      expect(gate.state.allowBackground).toBe(false)
      expect(gate.state.budget.threads).toBeLessThanOrEqual(8)
      expect(gate.state.budget.dutyCycle).toBeGreaterThanOrEqual(0.1)
      gate.stop()
    }
  })
})
