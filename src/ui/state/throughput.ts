/**
 * Shards computed per time bin over a sliding window, for the throughput
 * chart of the Volunteer dashboard. Counts are kept per bin, not per shard,
 * so memory stays bounded however fast the volunteer goes; bins that slide
 * out of the window are dropped.
 */

export interface ThroughputInit {
  /** How far back the chart looks. */
  windowMs: number
  /** Width of one bar. `windowMs` must be a whole number of bins. */
  binMs: number
}

/** One bar of the chart: shards finished in [start, start + binMs). */
export interface ThroughputBin { start: number, count: number }

export const DEFAULT_THROUGHPUT: ThroughputInit = { windowMs: 10 * 60_000, binMs: 30_000 }

export class ThroughputMeter {
  readonly windowMs: number
  readonly binMs: number
  /** Shards recorded since this meter was made (not only those in the window). */
  total = 0
  private readonly counts = new Map<number, number>()

  /** @throws {RangeError} if the bin or window size is not a positive whole number of bins */
  constructor (init: ThroughputInit = DEFAULT_THROUGHPUT) {
    if (!(init.binMs > 0) || !(init.windowMs >= init.binMs) || init.windowMs % init.binMs !== 0) {
      throw new RangeError(`throughput window ${init.windowMs} ms must be a positive whole number of ${init.binMs} ms bins`)
    }
    this.windowMs = init.windowMs
    this.binMs = init.binMs
  }

  /** Counts `count` shards finished at time `at` (ms since the epoch). */
  record (at: number, count = 1): void {
    if (!Number.isFinite(at) || !(count > 0)) return
    const bin = Math.floor(at / this.binMs)
    this.counts.set(bin, (this.counts.get(bin) ?? 0) + count)
    this.total += count
  }

  /** The bars of the window ending with the bin holding `now`, oldest first (empty bins included). */
  series (now: number): ThroughputBin[] {
    const last = Math.floor(now / this.binMs)
    const n = this.windowMs / this.binMs
    const first = last - n + 1
    for (const bin of this.counts.keys()) if (bin < first) this.counts.delete(bin)
    const out: ThroughputBin[] = []
    for (let b = first; b <= last; b++) out.push({ start: b * this.binMs, count: this.counts.get(b) ?? 0 })
    return out
  }

  /** Shards per minute over the last full minute before `now`. */
  perMinute (now: number): number {
    let sum = 0
    const from = now - 60_000
    for (const [bin, count] of this.counts) {
      const start = bin * this.binMs
      const end = start + this.binMs
      // A bin partly inside the minute counts in proportion (the arrivals in it are spread evenly).
      const overlap = Math.min(end, now) - Math.max(start, from)
      if (overlap > 0) sum += count * overlap / Math.min(this.binMs, Math.max(1, now - start))
    }
    return sum
  }
}
