/**
 * Maps items through an async function with a few calls in flight, results
 * in input order. For work that mostly waits on something else: the image
 * readers of a digits job (src/compute/digit-reader.ts) each keep a few
 * images in flight, where one at a time left them waiting on every round
 * trip.
 */

export interface PoolOptions {
  /** Calls in flight at most (at least 1). */
  limit: number
  /** Called after each item completes, with how many have. */
  onProgress?: (done: number) => void
  signal?: AbortSignal
}

/**
 * `fn` over every item, at most `limit` at a time, results in input order.
 * On the first failure no new item starts; once those in flight settle, it
 * rejects with the failure of the earliest item that failed (the same error
 * whatever the timing, as a one-at-a-time loop would have thrown).
 * @throws whatever `fn` throws, or the signal's reason once aborted.
 */
export async function mapPooled<T, R> (items: readonly T[], fn: (item: T, index: number) => Promise<R>, options: PoolOptions): Promise<R[]> {
  const results = new Array<R>(items.length)
  const failures = new Map<number, unknown>()
  let next = 0
  let done = 0
  const runner = async (): Promise<void> => {
    while (next < items.length && failures.size === 0) {
      options.signal?.throwIfAborted()
      const i = next++
      try {
        results[i] = await fn(items[i]!, i)
      } catch (err) {
        failures.set(i, err)
        return
      }
      options.onProgress?.(++done)
    }
  }
  const runners = Math.max(1, Math.min(Math.floor(options.limit), items.length))
  const settled = await Promise.allSettled(Array.from({ length: runners }, runner))
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()))
  const aborted = settled.find(s => s.status === 'rejected')
  if (aborted !== undefined) throw aborted.reason
  return results
}
