/**
 * The browser side of the power and consent policy (`power-policy.ts`): it
 * watches the battery (`navigator.getBattery()`), page visibility, and the
 * profile's volunteer lock, and tells the volunteer runtime when it may
 * compute and how hard.
 *
 * One volunteer per browser profile: a tab that wants to compute asks for
 * the Web Lock `essaim-volunteer`; the holder announces itself on the
 * BroadcastChannel of the same name, so the other tabs can say where the
 * profile is contributing. A tab that no longer wants to compute (stopped,
 * hidden, unplugged) releases the lock, and a waiting tab takes over.
 *
 * The screen wake lock is held only while computing on external power.
 * Settings (background work, budget) persist in localStorage; consent does
 * not: after a reload nothing computes until "Start contributing" again.
 */
import { TypedEventEmitter } from 'main-event'
import { logger } from '@libp2p/logger'
import {
  decide, wantsLock, wantsWakeLock, effectiveBudget, detectDevice, clampDuty, restAfter as restFor,
  type Budget, type BatteryReading, type ChargingAnswer, type Device, type PauseReason, type PolicyInput
} from './power-policy.ts'

const log = logger('essaim:swarm:power')

export const VOLUNTEER_LOCK = 'essaim-volunteer'
export const SETTINGS_KEY = 'essaim:power'
/** How often a tab that sees another owner checks that the owner still holds the lock (a crashed tab sends no goodbye). */
const OWNER_CHECK_MS = 5000

export interface PowerState {
  compute: boolean
  reason: PauseReason
  battery?: { charging: boolean, level: number }
  budget: Budget
  /** The explicit "Start contributing" of this tab. */
  consent: boolean
  device: Device
  allowBackground: boolean
  /** The user's own budget settings (unset fields follow the defaults). */
  userBudget: Partial<Budget>
  /** The answer to "Are you charging?", where it was asked. */
  chargingAnswer?: ChargingAnswer
  /** Label of the tab of this profile that computes, when it is another one. */
  lockOwner?: string
  /** A screen wake lock is held. */
  wakeLock: boolean
}

export interface PowerGateEvents {
  'power:change': CustomEvent<PowerState>
}

export interface PowerSettings { allowBackground: boolean, budget: Partial<Budget> }

type ChannelMessage = { type: 'who' } | { type: 'owner', label: string } | { type: 'released' }

interface BatteryManagerLike extends EventTarget { charging: boolean, level: number }
interface NavigatorExtras {
  getBattery?: () => Promise<BatteryManagerLike>
  userAgentData?: { mobile?: boolean }
}

export class PowerGate extends TypedEventEmitter<PowerGateEvents> {
  private readonly win: Window
  private readonly device: Device
  /** When this tab opened; other tabs are told "the tab opened at <time> computes". */
  private readonly openedAt = new Date()
  private labelText: string | undefined
  private settings: PowerSettings
  private consent = false
  private battery: BatteryReading = { supported: false }
  private chargingAnswer: ChargingAnswer | undefined
  private hidden: boolean
  private holdsLock = false
  private lockOwner: string | undefined
  private lockWanted = false
  private lockRequest: AbortController | undefined
  private releaseLock: (() => void) | undefined
  private wake: WakeLockSentinel | undefined
  private wakePending = false
  private batteryManager: BatteryManagerLike | undefined
  private channel: BroadcastChannel | undefined
  private ownerTimer: ReturnType<typeof setInterval> | undefined
  private started = false
  private current: PowerState

  constructor (init: { device?: Device, window?: Window } = {}) {
    super()
    this.win = init.window ?? window
    const nav = this.win.navigator as Navigator & NavigatorExtras
    this.device = init.device ?? detectDevice({
      uaDataMobile: nav.userAgentData?.mobile,
      userAgent: nav.userAgent,
      touchOnly: this.win.matchMedia('(pointer: coarse)').matches && !this.win.matchMedia('(any-pointer: fine)').matches
    })
    this.hidden = this.win.document.visibilityState === 'hidden'
    this.settings = loadSettings(this.win)
    this.current = this.compute()
  }

  get state (): PowerState { return this.current }

  /** Formatted when first needed: a tab's first date formatting costs ~40 ms, which the boot need not wait for. */
  private get label (): string {
    this.labelText ??= this.openedAt.toLocaleTimeString()
    return this.labelText
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.win.document.addEventListener('visibilitychange', this.onVisibility)
    if (typeof BroadcastChannel === 'function') {
      const channel = new BroadcastChannel(VOLUNTEER_LOCK)
      channel.addEventListener('message', this.onMessage)
      this.channel = channel
      this.post({ type: 'who' })
    }
    this.ownerTimer = setInterval(() => { void this.checkOwner() }, OWNER_CHECK_MS)
    const nav = this.win.navigator as Navigator & NavigatorExtras
    if (typeof nav.getBattery === 'function') {
      try {
        const bm = await nav.getBattery()
        if (!this.started) return
        this.batteryManager = bm
        bm.addEventListener('chargingchange', this.onBattery)
        bm.addEventListener('levelchange', this.onBattery)
        this.readBattery()
      } catch (err) {
        log('Battery API refused: %s', (err as Error).message)
      }
    }
    this.update()
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.win.document.removeEventListener('visibilitychange', this.onVisibility)
    this.batteryManager?.removeEventListener('chargingchange', this.onBattery)
    this.batteryManager?.removeEventListener('levelchange', this.onBattery)
    this.batteryManager = undefined
    clearInterval(this.ownerTimer)
    this.lockWanted = false
    this.lockRequest?.abort()
    this.lockRequest = undefined
    if (this.holdsLock) this.dropLock()
    this.channel?.close()
    this.channel = undefined
    void this.wake?.release().catch(() => {})
    this.wake = undefined
  }

  /** "Start contributing" (true) or "Stop" (false). */
  setConsent (on: boolean): void {
    this.consent = on
    this.update()
  }

  setAllowBackground (on: boolean): void {
    this.settings = { ...this.settings, allowBackground: on }
    saveSettings(this.win, this.settings)
    this.update()
  }

  /** Sets budget fields; a field set to `undefined` goes back to its default. */
  setBudget (b: Partial<Budget>): void {
    const budget: Partial<Budget> = { ...this.settings.budget }
    for (const key of ['threads', 'dutyCycle'] as const) {
      if (!(key in b)) continue
      const v = b[key]
      if (v === undefined || !Number.isFinite(v)) delete budget[key]
      else budget[key] = key === 'dutyCycle' ? clampDuty(v) : Math.max(1, Math.round(v))
    }
    this.settings = { ...this.settings, budget }
    saveSettings(this.win, this.settings)
    this.update()
  }

  answerCharging (a: ChargingAnswer): void {
    this.chargingAnswer = a
    this.update()
  }

  /** Resolves when compute is allowed; rejects with the signal's reason if aborted. */
  async waitUntilAllowed (options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options
    signal?.throwIfAborted()
    if (this.current.compute) return
    await new Promise<void>((resolve, reject) => {
      const onChange = (): void => {
        if (!this.current.compute) return
        cleanup()
        resolve()
      }
      const onAbort = (): void => {
        cleanup()
        reject(signal?.reason)
      }
      const cleanup = (): void => {
        this.removeEventListener('power:change', onChange)
        signal?.removeEventListener('abort', onAbort)
      }
      this.addEventListener('power:change', onChange)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** ms to rest after a shard that took `ms`, from the duty cycle. */
  restAfter (ms: number): number {
    return restFor(ms, this.current.budget.dutyCycle)
  }

  private input (): PolicyInput {
    return {
      consent: this.consent,
      device: this.device,
      battery: this.battery,
      chargingAnswer: this.chargingAnswer,
      hidden: this.hidden,
      allowBackground: this.settings.allowBackground,
      holdsLock: this.holdsLock,
      lockOwner: this.lockOwner
    }
  }

  private compute (): PowerState {
    const input = this.input()
    const { compute, reason } = decide(input)
    const budget = effectiveBudget({
      hardwareConcurrency: this.win.navigator.hardwareConcurrency,
      crossOriginIsolated: this.win.crossOriginIsolated,
      device: this.device,
      battery: this.battery,
      chargingAnswer: this.chargingAnswer
    }, this.settings.budget)
    const state: PowerState = {
      compute,
      reason,
      budget,
      consent: this.consent,
      device: this.device,
      allowBackground: this.settings.allowBackground,
      userBudget: { ...this.settings.budget },
      wakeLock: this.wake !== undefined
    }
    if (this.battery.supported) state.battery = { charging: this.battery.charging, level: this.battery.level }
    if (this.chargingAnswer !== undefined) state.chargingAnswer = this.chargingAnswer
    if (!this.holdsLock && this.lockOwner !== undefined) state.lockOwner = this.lockOwner
    return state
  }

  /** Recomputes the state, adjusts the locks, and tells listeners if anything changed. */
  private update (): void {
    this.syncLock()
    this.syncWakeLock()
    const next = this.compute()
    if (JSON.stringify(next) === JSON.stringify(this.current)) return
    this.current = next
    log('%s (%s)', next.reason, next.compute ? 'computing' : 'paused')
    this.safeDispatchEvent('power:change', { detail: next })
  }

  private syncLock (): void {
    const locks = this.win.navigator.locks as LockManager | undefined
    this.lockWanted = this.started && wantsLock(this.input())
    if (locks === undefined) {
      // No Web Locks (e.g. an insecure context): this tab cannot coordinate, so it acts alone.
      this.holdsLock = this.lockWanted
      return
    }
    if (this.lockWanted && !this.holdsLock && this.lockRequest === undefined) {
      const request = new AbortController()
      this.lockRequest = request
      locks.request(VOLUNTEER_LOCK, { signal: request.signal }, async () => {
        this.lockRequest = undefined
        this.holdsLock = true
        this.lockOwner = undefined
        this.post({ type: 'owner', label: this.label })
        const held = new Promise<void>(resolve => { this.releaseLock = resolve })
        this.update()
        await held
      }).catch((err: Error) => {
        if (err.name !== 'AbortError') log.error('volunteer lock request failed: %s', err.message)
      }).finally(() => {
        if (this.lockRequest === request) this.lockRequest = undefined
      })
    } else if (!this.lockWanted) {
      this.lockRequest?.abort()
      this.lockRequest = undefined
      if (this.holdsLock) this.dropLock()
    }
  }

  private dropLock (): void {
    this.holdsLock = false
    this.releaseLock?.()
    this.releaseLock = undefined
    this.post({ type: 'released' })
  }

  private syncWakeLock (): void {
    const want = this.started && !this.hidden && wantsWakeLock(this.input())
    const api = (this.win.navigator as Partial<Navigator>).wakeLock
    if (want && this.wake === undefined && !this.wakePending && api !== undefined) {
      this.wakePending = true
      api.request('screen').then(sentinel => {
        this.wakePending = false
        this.wake = sentinel
        // The browser releases it by itself when the page is hidden.
        sentinel.addEventListener('release', () => {
          if (this.wake === sentinel) { this.wake = undefined; this.update() }
        })
        this.update()
      }, (err: Error) => {
        this.wakePending = false
        log('screen wake lock refused: %s', err.message)
      })
    } else if (!want && this.wake !== undefined) {
      const sentinel = this.wake
      this.wake = undefined
      void sentinel.release().catch(() => {})
    }
  }

  private post (msg: ChannelMessage): void {
    this.channel?.postMessage(msg)
  }

  private readonly onMessage = (evt: MessageEvent<ChannelMessage>): void => {
    const msg = evt.data
    if (msg.type === 'who') {
      if (this.holdsLock) this.post({ type: 'owner', label: this.label })
    } else if (msg.type === 'owner') {
      if (typeof msg.label !== 'string') return
      this.lockOwner = msg.label.slice(0, 100)
      this.update()
    } else if (msg.type === 'released') {
      this.lockOwner = undefined
      this.update()
    }
  }

  /** Clears a stale owner: a tab that crashed or was killed released its lock without a word. */
  private async checkOwner (): Promise<void> {
    const locks = this.win.navigator.locks as LockManager | undefined
    if (this.lockOwner === undefined || this.holdsLock || locks === undefined) return
    const snapshot = await locks.query()
    if (!(snapshot.held ?? []).some(l => l.name === VOLUNTEER_LOCK)) {
      this.lockOwner = undefined
      this.update()
    }
  }

  private readonly onVisibility = (): void => {
    this.hidden = this.win.document.visibilityState === 'hidden'
    this.update()
  }

  private readonly onBattery = (): void => {
    this.readBattery()
    this.update()
  }

  private readBattery (): void {
    const bm = this.batteryManager
    if (bm === undefined) return
    const level = Number.isFinite(bm.level) ? Math.min(1, Math.max(0, bm.level)) : 1
    this.battery = { supported: true, charging: bm.charging, level }
  }
}

function loadSettings (win: Window): PowerSettings {
  const settings: PowerSettings = { allowBackground: false, budget: {} }
  try {
    const raw: unknown = JSON.parse(win.localStorage.getItem(SETTINGS_KEY) ?? 'null')
    if (typeof raw !== 'object' || raw === null) return settings
    const r = raw as { allowBackground?: unknown, budget?: { threads?: unknown, dutyCycle?: unknown } }
    if (typeof r.allowBackground === 'boolean') settings.allowBackground = r.allowBackground
    const t = r.budget?.threads
    const d = r.budget?.dutyCycle
    if (typeof t === 'number' && Number.isFinite(t)) settings.budget.threads = Math.max(1, Math.round(t))
    if (typeof d === 'number' && Number.isFinite(d)) settings.budget.dutyCycle = clampDuty(d)
  } catch (err) {
    log('ignoring unreadable power settings: %s', (err as Error).message)
  }
  return settings
}

function saveSettings (win: Window, settings: PowerSettings): void {
  try {
    win.localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings))
  } catch (err) {
    log('power settings not saved: %s', (err as Error).message)
  }
}
