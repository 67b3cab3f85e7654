/**
 * How much work a volunteer keeps in hand, so that neither the network nor
 * its own page makes the compute worker wait (issue "Benchmarks and scale":
 * with one pull round trip per shard, a small shard spent most of its time
 * waiting for the next one).
 *
 * - Shards go to the worker in groups. For a batchable model whose shards
 *   are small (under GROUP_TARGET_MS of inference each) a group is several
 *   shards, up to WORK_MAX_BATCH, posted together, which the worker runs as
 *   one batched inference (bit-identical to running them apart, DESIGN.md
 *   "Determinism"); otherwise a group is one shard. Two groups are in the
 *   worker at once: while one runs, the next is queued there, so signing
 *   and handing in one group's results never leaves the worker idle.
 * - Beyond those, the volunteer holds enough shards to cover two pull round
 *   trips at the rate it computes, measured as it goes (exponential moving
 *   averages), up to WORK_MAX_HELD (the requester leases no more to one peer),
 *   asking for them in up to PULLS_IN_FLIGHT exchanges at once.
 * - An exchange that fails while shards are in hand is tried again after a
 *   pause that grows with each failure in a row; after PULL_FAILURES_TO_LEAVE
 *   the volunteer leaves the job (its finished results stay to be handed in
 *   when it comes back). Without the pause, a connection stuck "closing"
 *   failed every exchange at once and the volunteer asked again at once:
 *   tens of thousands of times in two minutes, its page frozen meanwhile.
 */
import { WORK_MAX_BATCH, WORK_MAX_HELD } from '../net/constants.ts'

/**
 * Input bytes asked for in one pull: a reply of several MiB crosses a WebRTC
 * data channel in 16 KiB messages and can take seconds on a busy machine,
 * while the volunteer waits for the first shard of it and the exchange has
 * a 30 s deadline. At least one shard is always asked for.
 */
export const PULL_TARGET_BYTES = 1024 * 1024
/** Groups in the worker at once: one running, one queued behind it. */
export const GROUPS_IN_FLIGHT = 2
/**
 * Exchanges with the requester in flight at once. One carries at most
 * WORK_MAX_BATCH shards, so with one at a time small shards came no faster
 * than WORK_MAX_BATCH per round trip (8-image digits shards: the worker
 * waited 80 % of the time). A further exchange starts only with room for a
 * whole pull's worth, never just to hand results in.
 */
export const PULLS_IN_FLIGHT = 3
/** Exchanges failing in a row, shards in hand, before the volunteer leaves the job (all those in flight fail together when a connection breaks). */
export const PULL_FAILURES_TO_LEAVE = 5
/** Pause before the next exchange after the n-th failure in a row: n times this. */
export const PULL_RETRY_MS = 1_000
/** Inference time a group of small shards should add up to: past it, batching saves little per-run overhead. */
export const GROUP_TARGET_MS = 10
/** Round trips of work held beyond what is in the worker. */
const ROUND_TRIPS_COVERED = 2
/** Weight of a new sample in the moving averages. */
const ALPHA = 0.3

export class PullPace {
  private rttMs: number | undefined
  private shardMs: number | undefined
  private failures = 0

  /** Most shards in one group: 1 for a model that does not batch, else what one pull brings. */
  private readonly maxGroup: number

  constructor (batchable: boolean, perPull: number = WORK_MAX_BATCH) {
    this.maxGroup = batchable ? Math.min(WORK_MAX_BATCH, Math.max(1, Math.floor(perPull))) : 1
  }

  /** Shards posted to the worker together (a batchable model's start at a full pull's worth). */
  get groupSize (): number {
    if (this.shardMs === undefined) return this.maxGroup
    return Math.min(this.maxGroup, Math.max(1, Math.ceil(GROUP_TARGET_MS / this.shardMs)))
  }

  /** A pull round trip took `ms` (it succeeded: failures in a row start over). */
  roundTrip (ms: number): void {
    this.failures = 0
    if (Number.isFinite(ms) && ms >= 0) this.rttMs = ema(this.rttMs, ms)
  }

  /** An exchange failed: milliseconds to wait before the next, or undefined when too many failed in a row (leave the job). */
  pullFailed (): number | undefined {
    this.failures++
    return this.failures >= PULL_FAILURES_TO_LEAVE ? undefined : PULL_RETRY_MS * this.failures
  }

  /** One shard kept the worker busy for `ms` (its share of a batched run). */
  computed (ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.shardMs = ema(this.shardMs, Math.max(ms, 0.05))
  }

  /**
   * Shards to hold: the groups in the worker plus two round trips' worth at
   * the measured rate (a round trip to a busy requester page often takes
   * several times its average; one would leave the worker idle whenever one does).
   */
  get hold (): number {
    const inWorker = GROUPS_IN_FLIGHT * this.groupSize
    const cover = this.rttMs === undefined || this.shardMs === undefined ? 1 : Math.ceil(ROUND_TRIPS_COVERED * this.rttMs / this.shardMs)
    return Math.min(WORK_MAX_HELD, inWorker + Math.max(1, cover))
  }
}

function ema (prev: number | undefined, x: number): number {
  return prev === undefined ? x : prev + ALPHA * (x - prev)
}
