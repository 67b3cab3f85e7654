/**
 * What the scheduler knows about each volunteer, and the trust rules built on
 * it (DESIGN.md "Data flow of one job" step 5):
 * - vetted: passed at least one canary. When a job has canaries, a replica
 *   from an unvetted peer never makes a verdict final (the shard is held), so
 *   colluders that have never proved themselves cannot outvote anyone.
 * - faulty: failed a canary. It gets no more work and every result it ever
 *   gave is re-verified.
 * - trusted: a long clean record (at least `trustAfter` canaries passed and
 *   `agreeAfter` replicated results agreeing with an accepted quorum, no
 *   canary failure, never outvoted). Trusted peers may be given single
 *   replicas (adaptive replication); they still get canaries.
 */

/** Thresholds of the trust rules. */
export interface TrustPolicy {
  /** Canaries a peer must pass before it may get single replicas. */
  trustAfter: number
  /** Replicated results a peer must have had credited (agreeing with others) before it may get single replicas. */
  agreeAfter: number
}

/** Scheduler-side state of one peer. Results are referenced as `[jobKey, shard]` for re-verification. */
export class PeerRecord {
  readonly id: string
  /** Lease ids currently held (bounded by the scheduler's per-peer cap). */
  readonly leases = new Set<number>()
  /** Shards this peer returned a result for, as job key and shard index (needed to re-verify after a fault). */
  readonly contributions: Array<[number, number]> = []
  /** Canary shards already given to this peer, as `jobKey * 2^20 + shard`, so it never sees one twice. */
  readonly canariesSeen = new Set<number>()
  canariesPassed = 0
  canariesFailed = 0
  /** Times this peer's replica lost a vote (outvoted by an accepted quorum). */
  rejections = 0
  /** Results handed in (canaries included), leases that ran out on this peer, and leases it gave up (`Scheduler.fail`). */
  completed = 0
  expired = 0
  gaveUp = 0
  /** Replicated results of this peer credited by an accepted quorum (it agreed with other peers). */
  agreements = 0
  /** Canary leases in flight. */
  canariesInFlight = 0
  /** How many of `contributions` were already re-verified after this peer was outvoted. */
  reverifiedUpTo = 0
  faulty = false
  departed = false
  /** When it last pulled (the scheduler's clock). */
  lastPull = -Infinity

  constructor (id: string) {
    this.id = id
  }

  /**
   * Takes work and lets it expire or gives it up far more than it hands any
   * in (a pull flood, a device too slow for the job, or a peer giving up
   * shards so that they fail): it gets no new leases.
   */
  stalling (maxLeases: number): boolean {
    return this.expired + this.gaveUp > maxLeases + 2 * this.completed
  }

  get vetted (): boolean {
    return this.canariesPassed > 0 && !this.faulty
  }

  trusted (policy: TrustPolicy): boolean {
    return !this.faulty && this.canariesFailed === 0 && this.rejections === 0 &&
      this.canariesPassed >= policy.trustAfter && this.agreements >= policy.agreeAfter
  }
}

/** A read-only view of a {@link PeerRecord} for callers (UI, peer scoring). */
export interface PeerStanding {
  peer: string
  canariesPassed: number
  canariesFailed: number
  rejections: number
  leases: number
  vetted: boolean
  trusted: boolean
  faulty: boolean
}

export function standing (record: PeerRecord, policy: TrustPolicy): PeerStanding {
  return {
    peer: record.id,
    canariesPassed: record.canariesPassed,
    canariesFailed: record.canariesFailed,
    rejections: record.rejections,
    leases: record.leases.size,
    vetted: record.vetted,
    trusted: record.trusted(policy),
    faulty: record.faulty
  }
}
