/**
 * When may this browser compute, and how hard? Pure decisions over a
 * snapshot of the device (no DOM, no timers), so every rule is unit-tested
 * in Node; `power-gate.ts` gathers the snapshot from browser APIs.
 *
 * The rules (DESIGN.md "Power and consent"), checked in this order so the
 * reason shown is the one the user can act on:
 *  1. another tab of this profile is computing → `other-tab` (one volunteer per profile)
 *  2. no explicit "Start contributing"          → `no-consent`
 *  3. a phone not known to be charging          → `not-charging`, or `ask-charging`
 *     when the Battery API is missing and the user has not answered
 *  4. the tab is hidden and background work is not allowed → `hidden`
 *  5. waiting for the profile's lock            → `other-tab`
 *  6. otherwise                                 → `running`
 */

export type Device = 'phone' | 'desktop'

export type BatteryReading = { supported: false } | { supported: true, charging: boolean, level: number }

export type ChargingAnswer = 'charging' | 'not-charging'

/** Why compute is paused, or `running`. Messages live in the i18n dictionaries (`pause.<id>`). */
export type PauseReason = 'no-consent' | 'not-charging' | 'ask-charging' | 'hidden' | 'other-tab' | 'running'

export const PAUSE_REASONS: readonly PauseReason[] = ['no-consent', 'not-charging', 'ask-charging', 'hidden', 'other-tab', 'running']

export interface PolicyInput {
  consent: boolean
  device: Device
  battery: BatteryReading
  /** The user's answer to "Are you charging?", asked on phones without the Battery API. */
  chargingAnswer?: ChargingAnswer | undefined
  hidden: boolean
  allowBackground: boolean
  /** This tab holds the profile's volunteer lock. */
  holdsLock: boolean
  /** Set when another tab of this profile is known to hold the lock: its label. */
  lockOwner?: string | undefined
}

export interface Decision { compute: boolean, reason: PauseReason }

/** Applies the rules above; see the file header for their order. */
export function decide (input: PolicyInput): Decision {
  const pause = (reason: PauseReason): Decision => ({ compute: false, reason })
  if (!input.holdsLock && input.lockOwner !== undefined) return pause('other-tab')
  if (!input.consent) return pause('no-consent')
  if (input.device === 'phone') {
    if (input.battery.supported) {
      if (!input.battery.charging) return pause('not-charging')
    } else if (input.chargingAnswer === undefined) {
      return pause('ask-charging')
    } else if (input.chargingAnswer === 'not-charging') {
      return pause('not-charging')
    }
  }
  if (input.hidden && !input.allowBackground) return pause('hidden')
  if (!input.holdsLock) return pause('other-tab')
  return { compute: true, reason: 'running' }
}

/**
 * Whether this tab should hold (or queue for) the profile's lock: it would
 * compute if it had the lock. A tab that would pause anyway (no consent,
 * hidden, on battery) lets another tab of the profile take over.
 */
export function wantsLock (input: PolicyInput): boolean {
  return decide({ ...input, holdsLock: true, lockOwner: undefined }).compute
}

/** Whether the device is known to be on external power (reading, else the user's answer). */
export function isCharging (battery: BatteryReading, answer?: ChargingAnswer): boolean {
  return battery.supported ? battery.charging : answer === 'charging'
}

/**
 * The screen wake lock is held only while computing on external power: a
 * phone on its charger keeps working with the screen on instead of being
 * put to sleep; on battery the screen may turn off as usual.
 */
export function wantsWakeLock (input: PolicyInput): boolean {
  return decide(input).compute && isCharging(input.battery, input.chargingAnswer)
}

export interface Budget {
  /** WASM threads per inference session. */
  threads: number
  /** Fraction of wall time spent computing, 0.1..1: after a shard of t ms the volunteer rests t·(1−d)/d ms. */
  dutyCycle: number
}

export const MIN_DUTY = 0.1
export const MAX_DUTY = 1
/** The longest rest after one shard, so a slow shard at a low duty cycle does not look like a hang. */
export const MAX_REST_MS = 60_000

export interface BudgetEnv {
  hardwareConcurrency: number
  /** Without cross-origin isolation there is no SharedArrayBuffer, so WASM runs single-threaded. */
  crossOriginIsolated: boolean
  device: Device
  battery: BatteryReading
  chargingAnswer?: ChargingAnswer | undefined
}

/** Most threads the environment can use: all cores when isolated, else one. */
export function maxThreads (env: Pick<BudgetEnv, 'hardwareConcurrency' | 'crossOriginIsolated'>): number {
  if (!env.crossOriginIsolated) return 1
  return Math.max(1, Math.floor(env.hardwareConcurrency) || 1)
}

/**
 * The default budget, before the user sets one:
 * - threads: every core but one (the page and the rest of the device keep one), at least 1;
 *   1 when not cross-origin isolated.
 * - duty cycle: 1 on a desktop on external power (or without a battery reading:
 *   desktops usually are plugged in); 0.5 on a laptop on battery; 0.5 on a
 *   phone even when charging (a phone at full load while charging heats up and throttles).
 */
export function defaultBudget (env: BudgetEnv): Budget {
  const threads = Math.min(maxThreads(env), Math.max(1, Math.floor(env.hardwareConcurrency) - 1))
  let dutyCycle = 1
  if (env.device === 'phone') dutyCycle = 0.5
  else if (env.battery.supported && !env.battery.charging) dutyCycle = 0.5
  return { threads, dutyCycle }
}

/** The user's settings over the defaults, clamped to what the environment allows. */
export function effectiveBudget (env: BudgetEnv, user: Partial<Budget>): Budget {
  const base = defaultBudget(env)
  return {
    threads: clampInt(user.threads ?? base.threads, 1, maxThreads(env)),
    dutyCycle: clampDuty(user.dutyCycle ?? base.dutyCycle)
  }
}

export function clampDuty (d: number): number {
  if (!Number.isFinite(d)) return MAX_DUTY
  return Math.min(MAX_DUTY, Math.max(MIN_DUTY, d))
}

function clampInt (n: number, lo: number, hi: number): number {
  if (!Number.isFinite(n)) return lo
  return Math.min(hi, Math.max(lo, Math.round(n)))
}

/** Rest after a shard that took `ms`, so that computing takes `dutyCycle` of the time. */
export function restAfter (ms: number, dutyCycle: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0
  const d = clampDuty(dutyCycle)
  return Math.min(MAX_REST_MS, Math.round(ms * (1 - d) / d))
}

export interface DeviceHints {
  /** `navigator.userAgentData?.mobile`, where the browser has it. */
  uaDataMobile?: boolean | undefined
  userAgent: string
  /** `(pointer: coarse)` matches and no pointer is fine: a touch-only device. */
  touchOnly: boolean
}

/** Phone or desktop: User-Agent Client Hints first, else the UA string, else a touch-only screen. */
export function detectDevice (hints: DeviceHints): Device {
  if (hints.uaDataMobile === true) return 'phone'
  if (/Android|iPhone|iPad|iPod|Mobile/i.test(hints.userAgent)) return 'phone'
  return hints.touchOnly ? 'phone' : 'desktop'
}
