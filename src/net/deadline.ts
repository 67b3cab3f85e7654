/**
 * A time limit for one stream exchange that is released the moment the
 * exchange ends. `AbortSignal.timeout` cannot be cancelled: its timer keeps
 * the signal, and every listener and stream an exchange hung on it, alive
 * until it fires. At the rate a hostile peer opens streams, 30 s of those
 * held tens of MiB on a requester's heap (the pull-flood e2e).
 */
import { TimeoutError } from '@libp2p/interface'

export interface Deadline {
  signal: AbortSignal
  /** Releases the timer (call once the exchange is over, whatever its outcome). */
  clear: () => void
}

/** A signal that aborts with a TimeoutError after `ms`, unless cleared first. */
export function deadline (ms: number): Deadline {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new TimeoutError(`timed out after ${ms} ms`)) }, ms)
  return { signal: controller.signal, clear: () => { clearTimeout(timer) } }
}
