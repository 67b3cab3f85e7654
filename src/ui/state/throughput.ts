/**
 * Work done per time bin over a sliding window, for the throughput chart of
 * the Volunteer dashboard. A shard can be one OCR line or a 256-image digits
 * batch, so besides shards each bin counts samples by unit (images, lines,
 * audio windows; src/compute/shard-samples.ts). The chart shows samples when
 * every shard in the window had a known count in one unit, and shards
 * otherwise (a model outside the catalog, or images and lines mixed, which
 * do not add up).
 *
 * Counts are kept per bin, not per shard, so memory stays bounded however
 * fast the volunteer goes; bins that slide out of the window are dropped.
 */
import type { SampleUnit, ShardSamples } from '../../compute/shard-samples.ts'

export interface ThroughputInit {
  /** How far back the chart looks. */
  windowMs: number
  /** Width of one bar. `windowMs` must be a whole number of bins. */
  binMs: number
}

/** What the chart counts: samples of one unit, or shards. */
export type ThroughputUnit = SampleUnit | 'shards'

/** One bar of the chart: work finished in [start, start + binMs), in the series' unit. */
export interface ThroughputBin { start: number, count: number }

export const DEFAULT_THROUGHPUT: ThroughputInit = { windowMs: 10 * 60_000, binMs: 30_000 }

interface BinCounts {
  shards: number
  /** Shards recorded without a sample count. */
  unknown: number
  samples: Partial<Record<SampleUnit, number>>
}

export class ThroughputMeter {
  readonly windowMs: number
  readonly binMs: number
  /** Shards recorded since this meter was made (not only those in the window). */
  total = 0
  private readonly bins = new Map<number, BinCounts>()

  /** @throws {RangeError} if the bin or window size is not a positive whole number of bins */
  constructor (init: ThroughputInit = DEFAULT_THROUGHPUT) {
    if (!(init.binMs > 0) || !(init.windowMs >= init.binMs) || init.windowMs % init.binMs !== 0) {
      throw new RangeError(`throughput window ${init.windowMs} ms must be a positive whole number of ${init.binMs} ms bins`)
    }
    this.windowMs = init.windowMs
    this.binMs = init.binMs
  }

  /**
   * Counts `count` shards finished at time `at` (ms since the epoch) holding
   * `samples` between them, when known.
   */
  record (at: number, count = 1, samples?: ShardSamples): void {
    if (!Number.isFinite(at) || !(count > 0)) return
    const key = Math.floor(at / this.binMs)
    let bin = this.bins.get(key)
    if (bin === undefined) { bin = { shards: 0, unknown: 0, samples: {} }; this.bins.set(key, bin) }
    bin.shards += count
    if (samples !== undefined && samples.count > 0 && Number.isFinite(samples.count)) {
      bin.samples[samples.unit] = (bin.samples[samples.unit] ?? 0) + samples.count
    } else {
      bin.unknown += count
    }
    this.total += count
  }

  /**
   * The unit the window is best told in: the sample unit when every shard in
   * it had a sample count of that one unit, else shards (also when empty).
   */
  unit (now: number): ThroughputUnit {
    const last = this.prune(now)
    const units = new Set<SampleUnit>()
    for (const [key, bin] of this.bins) {
      if (key > last) continue
      if (bin.unknown > 0) return 'shards'
      for (const u of Object.keys(bin.samples) as SampleUnit[]) units.add(u)
    }
    return units.size === 1 ? [...units][0]! : 'shards'
  }

  /** The bars of the window ending with the bin holding `now`, oldest first (empty bins included), in `unit`. */
  series (now: number, unit: ThroughputUnit = this.unit(now)): ThroughputBin[] {
    const last = this.prune(now)
    const first = last - this.windowMs / this.binMs + 1
    const out: ThroughputBin[] = []
    for (let b = first; b <= last; b++) out.push({ start: b * this.binMs, count: countIn(this.bins.get(b), unit) })
    return out
  }

  /** Work per minute, in `unit`, over the last full minute before `now`. */
  perMinute (now: number, unit: ThroughputUnit = this.unit(now)): number {
    let sum = 0
    const from = now - 60_000
    for (const [key, bin] of this.bins) {
      const start = key * this.binMs
      const end = start + this.binMs
      // A bin partly inside the minute counts in proportion (the arrivals in it are spread evenly).
      const overlap = Math.min(end, now) - Math.max(start, from)
      if (overlap > 0) sum += countIn(bin, unit) * overlap / Math.min(this.binMs, Math.max(1, now - start))
    }
    return sum
  }

  /** Drops bins that slid out of the window; returns the key of the bin holding `now`. */
  private prune (now: number): number {
    const last = Math.floor(now / this.binMs)
    const first = last - this.windowMs / this.binMs + 1
    for (const key of this.bins.keys()) if (key < first) this.bins.delete(key)
    return last
  }
}

function countIn (bin: BinCounts | undefined, unit: ThroughputUnit): number {
  if (bin === undefined) return 0
  return unit === 'shards' ? bin.shards : bin.samples[unit] ?? 0
}
