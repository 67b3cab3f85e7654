/**
 * The power and consent rules of DESIGN.md "Power and consent", one reason at
 * a time, then transitions as a real session goes through them, then
 * properties over every input combination.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  decide, wantsLock, wantsWakeLock, defaultBudget, effectiveBudget, restAfter, detectDevice, maxThreads,
  MAX_REST_MS, PAUSE_REASONS, type PolicyInput, type BatteryReading
} from '../../../src/swarm/power-policy.ts'

const desktop: PolicyInput = { consent: true, device: 'desktop', battery: { supported: false }, hidden: false, allowBackground: false, holdsLock: true }
const phone: PolicyInput = { ...desktop, device: 'phone', battery: { supported: true, charging: true, level: 0.8 } }

describe('decide: every reason', () => {
  it('running when consented, visible, holding the lock', () => {
    expect(decide(desktop)).toEqual({ compute: true, reason: 'running' })
    expect(decide(phone)).toEqual({ compute: true, reason: 'running' })
  })
  it('no-consent before the explicit click', () => {
    expect(decide({ ...desktop, consent: false })).toEqual({ compute: false, reason: 'no-consent' })
  })
  it('not-charging on a discharging phone, whatever the level', () => {
    expect(decide({ ...phone, battery: { supported: true, charging: false, level: 1 } })).toEqual({ compute: false, reason: 'not-charging' })
  })
  it('a discharging desktop (laptop) still computes: the charging rule is for phones', () => {
    expect(decide({ ...desktop, battery: { supported: true, charging: false, level: 0.3 } }).reason).toBe('running')
  })
  it('ask-charging on a phone without the Battery API until answered', () => {
    const noApi: PolicyInput = { ...phone, battery: { supported: false } }
    expect(decide(noApi).reason).toBe('ask-charging')
    expect(decide({ ...noApi, chargingAnswer: 'not-charging' }).reason).toBe('not-charging')
    expect(decide({ ...noApi, chargingAnswer: 'charging' }).reason).toBe('running')
  })
  it('the answer is ignored when the Battery API reports', () => {
    expect(decide({ ...phone, battery: { supported: true, charging: false, level: 0.5 }, chargingAnswer: 'charging' }).reason).toBe('not-charging')
  })
  it('hidden unless background work is allowed', () => {
    expect(decide({ ...desktop, hidden: true }).reason).toBe('hidden')
    expect(decide({ ...desktop, hidden: true, allowBackground: true }).reason).toBe('running')
  })
  it('other-tab when another tab owns the lock, even without consent here', () => {
    expect(decide({ ...desktop, holdsLock: false, lockOwner: 'tab a' }).reason).toBe('other-tab')
    expect(decide({ ...desktop, consent: false, holdsLock: false, lockOwner: 'tab a' }).reason).toBe('other-tab')
  })
  it('other-tab while queued for the lock with no known owner', () => {
    expect(decide({ ...desktop, holdsLock: false })).toEqual({ compute: false, reason: 'other-tab' })
  })
  it('an owner label is irrelevant once this tab holds the lock', () => {
    expect(decide({ ...desktop, lockOwner: 'stale' }).reason).toBe('running')
  })
  it('order: consent before charging before visibility', () => {
    const worst: PolicyInput = { ...phone, consent: false, battery: { supported: true, charging: false, level: 0.1 }, hidden: true }
    expect(decide(worst).reason).toBe('no-consent')
    expect(decide({ ...worst, consent: true }).reason).toBe('not-charging')
    expect(decide({ ...worst, consent: true, battery: { supported: true, charging: true, level: 0.1 } }).reason).toBe('hidden')
  })
})

describe('transitions of one session', () => {
  it('phone: click, plug in, hide, allow background, unplug, stop', () => {
    let s: PolicyInput = { ...phone, consent: false, battery: { supported: true, charging: false, level: 0.4 }, holdsLock: false }
    const seen: string[] = []
    const step = (patch: Partial<PolicyInput>): void => {
      s = { ...s, ...patch }
      // The gate holds the lock exactly while it wants it (no other tab here).
      s = { ...s, holdsLock: wantsLock(s) }
      seen.push(decide(s).reason)
    }
    step({})
    step({ consent: true })
    step({ battery: { supported: true, charging: true, level: 0.41 } })
    step({ hidden: true })
    step({ allowBackground: true })
    step({ battery: { supported: true, charging: false, level: 0.9 } })
    step({ consent: false })
    expect(seen).toEqual(['no-consent', 'not-charging', 'running', 'hidden', 'running', 'not-charging', 'no-consent'])
  })
  it('two tabs: the one that wants the lock and gets it computes, the other shows other-tab', () => {
    const a: PolicyInput = { ...desktop, holdsLock: true }
    const b: PolicyInput = { ...desktop, holdsLock: false, lockOwner: 'a' }
    expect([decide(a).compute, decide(b).compute]).toEqual([true, false])
    expect(decide(b).reason).toBe('other-tab')
    // a is hidden: it no longer wants the lock and lets b take over.
    expect(wantsLock({ ...a, hidden: true })).toBe(false)
    expect(decide({ ...b, holdsLock: true, lockOwner: undefined }).reason).toBe('running')
  })
})

describe('wake lock', () => {
  it('only while computing on external power', () => {
    expect(wantsWakeLock(phone)).toBe(true)
    expect(wantsWakeLock({ ...phone, hidden: true, allowBackground: true })).toBe(true)
    expect(wantsWakeLock({ ...phone, consent: false })).toBe(false)
    expect(wantsWakeLock({ ...phone, battery: { supported: false }, chargingAnswer: 'charging' })).toBe(true)
    expect(wantsWakeLock(desktop)).toBe(false) // unknown power source
    expect(wantsWakeLock({ ...desktop, battery: { supported: true, charging: false, level: 0.5 } })).toBe(false)
  })
})

describe('budget', () => {
  const env = { hardwareConcurrency: 8, crossOriginIsolated: true, device: 'desktop' as const, battery: { supported: false } as BatteryReading }
  it('defaults: all cores but one, full duty on a plugged desktop', () => {
    expect(defaultBudget(env)).toEqual({ threads: 7, dutyCycle: 1 })
    expect(defaultBudget({ ...env, battery: { supported: true, charging: true, level: 1 } })).toEqual({ threads: 7, dutyCycle: 1 })
  })
  it('half duty on a laptop on battery and on phones', () => {
    expect(defaultBudget({ ...env, battery: { supported: true, charging: false, level: 1 } }).dutyCycle).toBe(0.5)
    expect(defaultBudget({ ...env, device: 'phone', battery: { supported: true, charging: true, level: 1 } }).dutyCycle).toBe(0.5)
  })
  it('one thread without cross-origin isolation or with a single core', () => {
    expect(defaultBudget({ ...env, crossOriginIsolated: false }).threads).toBe(1)
    expect(defaultBudget({ ...env, hardwareConcurrency: 1 }).threads).toBe(1)
    expect(defaultBudget({ ...env, hardwareConcurrency: 0 }).threads).toBe(1)
    expect(maxThreads({ hardwareConcurrency: 8, crossOriginIsolated: false })).toBe(1)
  })
  it('user settings override the defaults, clamped', () => {
    expect(effectiveBudget(env, { threads: 2, dutyCycle: 0.3 })).toEqual({ threads: 2, dutyCycle: 0.3 })
    expect(effectiveBudget(env, { threads: 64, dutyCycle: 5 })).toEqual({ threads: 8, dutyCycle: 1 })
    expect(effectiveBudget(env, { threads: 0, dutyCycle: 0 })).toEqual({ threads: 1, dutyCycle: 0.1 })
    expect(effectiveBudget(env, { threads: Number.NaN, dutyCycle: Number.NaN })).toEqual({ threads: 1, dutyCycle: 1 })
    expect(effectiveBudget({ ...env, crossOriginIsolated: false }, { threads: 4 }).threads).toBe(1)
  })
  it('restAfter keeps the duty cycle and is capped', () => {
    expect(restAfter(1000, 1)).toBe(0)
    expect(restAfter(1000, 0.5)).toBe(1000)
    expect(restAfter(1000, 0.25)).toBe(3000)
    expect(restAfter(100_000, 0.1)).toBe(MAX_REST_MS)
    expect(restAfter(-5, 0.5)).toBe(0)
    expect(restAfter(Number.NaN, 0.5)).toBe(0)
  })
  it('property: compute time / (compute + rest) equals the duty cycle below the cap', () => {
    fc.assert(fc.property(fc.integer({ min: 10, max: 5000 }), fc.double({ min: 0.1, max: 1, noNaN: true }), (ms, d) => {
      const rest = restAfter(ms, d)
      if (rest === MAX_REST_MS) return
      expect(Math.abs(ms / (ms + rest) - d)).toBeLessThan(0.01 + 1 / ms)
    }))
  })
})

describe('detectDevice', () => {
  const pixel7 = 'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36'
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'
  const linux = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
  it('phones by client hints, UA string or touch-only screen', () => {
    expect(detectDevice({ uaDataMobile: true, userAgent: linux, touchOnly: false })).toBe('phone')
    expect(detectDevice({ uaDataMobile: false, userAgent: pixel7, touchOnly: false })).toBe('phone')
    expect(detectDevice({ userAgent: iphone, touchOnly: false })).toBe('phone')
    expect(detectDevice({ userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)', touchOnly: true })).toBe('phone')
  })
  it('desktops otherwise', () => {
    expect(detectDevice({ uaDataMobile: false, userAgent: linux, touchOnly: false })).toBe('desktop')
  })
})

describe('properties over every input', () => {
  const input = fc.record({
    consent: fc.boolean(),
    device: fc.constantFrom('phone' as const, 'desktop' as const),
    battery: fc.oneof(fc.constant({ supported: false as const }), fc.record({ supported: fc.constant(true as const), charging: fc.boolean(), level: fc.double({ min: 0, max: 1, noNaN: true }) })),
    chargingAnswer: fc.constantFrom(undefined, 'charging' as const, 'not-charging' as const),
    hidden: fc.boolean(),
    allowBackground: fc.boolean(),
    holdsLock: fc.boolean(),
    lockOwner: fc.constantFrom(undefined, 'other')
  })
  it('compute ⇔ running, and running needs consent, the lock, visibility or permission, and power on phones', () => {
    fc.assert(fc.property(input, s => {
      const d = decide(s)
      expect(PAUSE_REASONS).toContain(d.reason)
      expect(d.compute).toBe(d.reason === 'running')
      if (d.compute) {
        expect(s.consent && s.holdsLock).toBe(true)
        expect(!s.hidden || s.allowBackground).toBe(true)
        if (s.device === 'phone') expect(s.battery.supported ? s.battery.charging : s.chargingAnswer === 'charging').toBe(true)
      }
    }))
  })
  it('holding the lock never hurts, and a tab that computes wants the lock', () => {
    fc.assert(fc.property(input, s => {
      if (decide(s).compute) expect(wantsLock(s)).toBe(true)
      if (wantsLock(s)) expect(decide({ ...s, holdsLock: true }).compute).toBe(true)
    }))
  })
})
