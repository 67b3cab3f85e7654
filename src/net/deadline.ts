/**
 * Timers released as soon as they are done with: a time limit for one
 * stream exchange that is released the moment the exchange ends, and an
 * abortable sleep. `AbortSignal.timeout` cannot be cancelled: its timer keeps
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

/**
 * Waits `ms` (at once when it is not positive); `onWaker` receives a
 * function that ends the wait early. Its timer and listener are released
 * whichever way it ends.
 * @throws the signal's reason when it aborts first.
 */
export async function sleep (ms: number, signal: AbortSignal, onWaker?: (wake: () => void) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return }
    const done = (): void => { clearTimeout(t); signal.removeEventListener('abort', onAbort); resolve() }
    const t = setTimeout(done, Math.max(0, ms))
    const onAbort = (): void => { clearTimeout(t); reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    onWaker?.(done)
  })
}
