/**
 * The requester's pull scheduler (DESIGN.md "Data flow of one job" steps 2
 * and 5; issue "Jobs end to end" items 2–3). Pure and deterministic: no
 * timers (time comes in as `now`), no I/O, random choices from a seeded PRNG,
 * outputs compared through an injected comparator. The caller (the requester
 * runtime) feeds it pulls, results and the clock, and turns its events into
 * verdicts, cancellations and peer-score penalties.
 *
 * Rules it enforces:
 * - Work is leased for `leaseMs`; `expire(now)` reopens lost leases and
 *   `removePeer` reopens a departed peer's at once. A peer whose leases
 *   keep running out while it hands in little (a pull flood) gets no more.
 * - A peer never gets two replicas of one shard (nor one canary twice); a
 *   lease that ran out or was cancelled does not count, so a small swarm can
 *   always finish.
 * - Canaries (manifest shards with a known answer) are mixed in at the job's
 *   `canaryRate`, at a higher probation rate until a peer is trusted, and a
 *   peer's first work for a job with canaries is a canary.
 * - Replicas are grouped by agreement (scheduler-verify.ts): a quorum that
 *   leads dissent by a full quorum wins; otherwise more replicas, up to
 *   `policy.replicas + maxExtraReplicas`, then the shard fails. A shard given
 *   up `maxGiveUps` times (peers handing in errors) fails too; giving up
 *   counts with expired leases toward a peer that stalls. `retryFailed`
 *   opens failed shards again as if never tried.
 * - Where a job has canaries, a verdict only becomes final once every peer
 *   credited for it has passed a canary (until then the shard is "held").
 * - A failed canary marks the peer faulty: its leases are cancelled and
 *   every shard it answered is re-verified with a fresh replica; accepted
 *   ones are reopened and accepted again with a higher `revision`.
 * - Adaptive replication: a fresh shard pulled by a trusted peer is
 *   sometimes given as a single replica (quorum 1); canaries continue.
 *   A single replica handed in after its peer lost trust needs a second.
 *   A random `auditRate` of single-replica results is audited: held back
 *   and given to a second peer, decided like any replicated shard.
 * - An outvoted peer (its counted answer lost to an accepted quorum) is no
 *   longer trusted, and every accepted shard it was credited for since its
 *   last such re-check is re-verified with a fresh replica: a peer that lies
 *   only now and then, or colludes, loses the lies it got accepted.
 * - A job restored after a requester reload brings what its earlier
 *   session decided: accepted shards stay accepted; shards reopened for
 *   re-verification and not decided again are re-verified from scratch.
 * - Fair share: each assignment goes to the next requester in rotation that
 *   has work for this peer, then to that requester's next job, so a requester
 *   with many shards or jobs cannot starve a small one. Credit plays no part.
 *   A pull for one job gets at most its share of that job: its outstanding
 *   work split among the peers working for this requester (pulled within a
 *   lease period, handed in a result before), and at least one shard.
 */
import { seededRng, type Rng } from './rng.ts'
import { PeerRecord, standing, type PeerStanding } from './reputation.ts'
import { decide, sameOutput, type Replica } from './scheduler-verify.ts'
import {
  SCHEDULER_DEFAULTS, type Assignment, type Completion, type JobProgress, type JobSpec, type KnownAnswer,
  type SchedulerEvent, type SchedulerInit, type ShardFailure
} from './scheduler-types.ts'

export * from './scheduler-types.ts'

type Status = 'open' | 'held' | 'accepted' | 'failed'

interface Shard<O> {
  index: number
  status: Status
  /** Results required before a decision. */
  base: number
  /** Counted results to wait for (from the last decision). */
  need: number
  /** Counted results at the last decision. */
  counted: number
  single: boolean
  /** A single-replica result was drawn for an audit (never drawn twice). */
  audited: boolean
  revision: number
  /** Peers credited by the current verdict (when accepted). */
  credited: string[]
  results: Array<Replica<O> & { record: PeerRecord }>
  leases: number[]
  /** Every peer ever given this shard. */
  peers: string[]
  /** Leases of this shard given up (`fail`), and the last error reported. */
  giveUps: number
  lastError: string
}

interface Job<O> {
  key: number
  spec: JobSpec<O>
  shards: Array<Shard<O> | undefined>
  canaryIdx: number[]
  canaries: Map<number, KnownAnswer<O>>
  /** Open shards nobody has touched yet, in index order. */
  ready: Set<number>
  /** Open shards already started (second replicas, disagreements, re-verification): served first. */
  urgent: Set<number>
  realShards: number
  accepted: number
  failed: number
  held: number
  results: number
  canaryResults: number
  inFlight: number
  done: boolean
  removed: boolean
}

interface Lease<O> {
  id: number
  job: Job<O>
  shard: number
  peer: PeerRecord
  canary: boolean
  deadline: number
}

interface Requester<O> {
  id: string
  jobs: Array<Job<O>>
  cursor: number
}

/** How far `take` looks down a queue for a shard this peer has not had. */
const SCAN_LIMIT = 64
/** How long a count of the peers working for this scheduler stands (`workingPeers`). */
const WORKING_RECOUNT_MS = 1_000

/** A shard as a job starts it: open, nobody tried, needing `replicas` results. */
function untried<O> (index: number, replicas: number, revision: number): Shard<O> {
  return {
    index, status: 'open', base: replicas, need: replicas, counted: 0, single: false, audited: false, revision,
    credited: [], results: [], leases: [], peers: [], giveUps: 0, lastError: ''
  }
}

/** A canary's key in `PeerRecord.canariesSeen`: unique across jobs. */
const canaryKey = (job: { key: number }, shard: number): number => job.key * 2 ** 32 + shard

/** Deterministic pull scheduler; see the file header for its rules. `O` is the caller's decoded output type. */
export class Scheduler<O = unknown> {
  private readonly opts: Required<Omit<SchedulerInit<O>, 'comparator'>>
  private readonly comparator: SchedulerInit<O>['comparator']
  private readonly rng: Rng
  private readonly peers = new Map<string, PeerRecord>()
  private readonly jobs = new Map<string, Job<O>>()
  private readonly jobsByKey: Array<Job<O>> = []
  private readonly requesters: Array<Requester<O>> = []
  private readonly leases = new Map<number, Lease<O>>()
  /** Leases given up (`fail`), until their deadline: then their peer may be given that shard again. */
  private gaveUp: Array<Lease<O>> = []
  private requesterCursor = 0
  private nextLease: number
  /** How many peers are working for this scheduler's jobs (`workingPeers`), and when that was counted. */
  private working = { count: 0, at: -Infinity }

  constructor (init: SchedulerInit<O> = {}) {
    const { comparator, ...rest } = init
    this.opts = { ...SCHEDULER_DEFAULTS, ...rest }
    this.nextLease = this.opts.firstLease
    this.comparator = comparator
    this.rng = seededRng(this.opts.seed)
  }

  /**
   * Adds a job. Canary indices must lie in [0, shards).
   * @throws {RangeError} on a duplicate job id, a bad shard count or a canary index out of range.
   */
  addJob (spec: JobSpec<O>): void {
    if (this.jobs.has(spec.jobId)) throw new RangeError(`job ${spec.jobId} already added`)
    if (!Number.isSafeInteger(spec.shards) || spec.shards < 1) throw new RangeError(`shards: ${spec.shards}`)
    const canaries = spec.canaries ?? new Map<number, KnownAnswer<O>>()
    for (const i of canaries.keys()) if (!Number.isInteger(i) || i < 0 || i >= spec.shards) throw new RangeError(`canary shard ${i} out of range`)
    for (const [i, r] of spec.reverifying ?? []) {
      if (!Number.isInteger(i) || i < 0 || i >= spec.shards || canaries.has(i)) throw new RangeError(`re-verified shard ${i} out of range or a canary`)
      if (spec.settled?.has(i) === true || spec.failed?.has(i) === true) throw new RangeError(`shard ${i} is both decided and re-verified`)
      if (!Number.isSafeInteger(r.revision) || r.revision < 1) throw new RangeError(`re-verified shard ${i}: revision ${r.revision}`)
    }
    const job: Job<O> = {
      key: this.jobsByKey.length, spec, shards: new Array(spec.shards), canaryIdx: [...canaries.keys()].sort((a, b) => a - b), canaries,
      ready: new Set(), urgent: new Set(), realShards: spec.shards - canaries.size,
      accepted: 0, failed: 0, held: 0, results: 0, canaryResults: 0, inFlight: 0, done: false, removed: false
    }
    for (let i = 0; i < spec.shards; i++) {
      if (canaries.has(i)) continue
      job.shards[i] = untried<O>(i, spec.policy.replicas, 0)
      if (spec.settled?.has(i) === true) {
        // Accepted in an earlier session (a requester reload): never scheduled again.
        this.setStatus(job, job.shards[i]!, 'accepted')
        continue
      }
      if (spec.failed?.has(i) === true) {
        this.setStatus(job, job.shards[i]!, 'failed')
        continue
      }
      const again = spec.reverifying?.get(i)
      if (again !== undefined) {
        // Reopened in an earlier session: started work (served first), with
        // all replicas fresh, never from the peer that caused the reopen.
        const shard = job.shards[i]!
        shard.revision = again.revision
        shard.peers.push(again.peer)
        job.urgent.add(i)
        continue
      }
      job.ready.add(i)
    }
    job.done = job.accepted + job.failed === job.realShards
    this.jobs.set(spec.jobId, job)
    this.jobsByKey.push(job)
    let r = this.requesters.find(x => x.id === spec.requester)
    if (r === undefined) this.requesters.push(r = { id: spec.requester, jobs: [], cursor: 0 })
    r.jobs.push(job)
  }

  /**
   * Marks `peer` faulty as an earlier session found it (it failed a canary
   * before a requester reload): it is never given work again. Call before
   * serving: nothing is re-verified here, since what it had been credited
   * for was reopened when it was caught and stays reopened in storage.
   */
  knownFaulty (peer: string): void {
    this.record(peer).faulty = true
  }

  /**
   * Opens a job's failed shards again, as if never tried (their give-ups,
   * answers and the peers that had them forgotten; a re-verified shard keeps
   * its revision): for a failure that may have passed (volunteers short of
   * memory, a model since fixed on their side). Not once the job's deadline
   * has passed: nothing would be handed out.
   * @returns the shards reopened.
   */
  retryFailed (jobId: string, now: number): number[] {
    const job = this.jobs.get(jobId)
    if (job === undefined || now >= job.spec.policy.deadline) return []
    const reopened: number[] = []
    for (const shard of job.shards) {
      if (shard === undefined || shard.status !== 'failed') continue
      this.setStatus(job, shard, 'open')
      // A failed shard holds no lease: nothing of it is lost here but its failed tries.
      Object.assign(shard, untried<O>(shard.index, job.spec.policy.replicas, shard.revision))
      this.refresh(job, shard)
      reopened.push(shard.index)
    }
    job.done = job.accepted + job.failed === job.realShards
    return reopened
  }

  /** Drops a job: its leases are cancelled (reported) and it is never served again. */
  removeJob (jobId: string): SchedulerEvent[] {
    const job = this.jobs.get(jobId)
    const events: SchedulerEvent[] = []
    if (job === undefined) return events
    job.removed = true
    for (const lease of [...this.leases.values()]) if (lease.job === job) this.dropLease(lease, events, 'lease:cancelled')
    this.jobs.delete(jobId)
    for (const r of this.requesters) r.jobs = r.jobs.filter(j => j !== job)
    return events
  }

  /**
   * Up to `capacity` assignments for `peer` (fewer if it holds `maxLeasesPerPeer` leases or work runs out).
   * With `jobId`, only shards of that job: a volunteer that pulls for one job
   * must not be handed (and then give back) shards of another; and no more
   * than its share of that job (`shareLeft`).
   */
  pull (peer: string, capacity: number, now: number, options: { jobId?: string } = {}): Assignment[] {
    const record = this.record(peer)
    record.departed = false
    record.lastPull = now
    const out: Assignment[] = []
    if (record.faulty || record.stalling(this.opts.maxLeasesPerPeer)) return out
    const job = options.jobId === undefined ? undefined : this.jobs.get(options.jobId)
    const n = Math.min(capacity, this.opts.maxLeasesPerPeer - record.leases.size, job === undefined ? Infinity : this.shareLeft(job, record, now))
    for (let i = 0; i < n; i++) {
      const a = this.assignOne(record, now, options.jobId)
      if (a === undefined) break
      out.push(a)
    }
    return out
  }

  /** Records `peer`'s result for `leaseId` and returns what it decided. */
  complete (leaseId: number, peer: string, result: Completion<O>): SchedulerEvent[] {
    const events: SchedulerEvent[] = []
    const lease = this.leases.get(leaseId)
    if (lease === undefined || lease.peer.id !== peer) {
      events.push({ type: 'result:refused', leaseId, peer, reason: lease === undefined ? 'no such lease (expired, cancelled or unknown)' : 'lease held by another peer' })
      return events
    }
    this.removeLease(lease)
    const { job, shard: index, peer: record } = lease
    record.completed++
    if (lease.canary) {
      job.canaryResults++
      const known = job.canaries.get(index)!
      if (sameOutput(job.spec.policy.compare, result, known, this.comparator)) {
        record.canariesPassed++
        events.push({ type: 'canary:passed', peer, jobId: job.spec.jobId, shard: index })
        this.revisit(record, s => s.status === 'held', events)
      } else {
        this.markFaulty(record, job, index, events)
      }
      return events
    }
    const shard = job.shards[index]!
    job.results++
    shard.results.push({ peer, outputHash: result.outputHash, output: result.output, record })
    record.contributions.push([job.key, index])
    this.settle(job, shard, events)
    return events
  }

  /**
   * The peer gave up on a lease (e.g. could not run the model; `error` is
   * its word for why): the shard is reopened for others at once, and for
   * this peer once the lease would have run out. Barred for good, a peer
   * that failed once (a worker that died, a phone short of memory) left a
   * two-volunteer swarm with two replicas unable to finish that shard, ever.
   * After `maxGiveUps` give-ups the shard fails instead (an input the model
   * rejects fails everywhere).
   */
  fail (leaseId: number, peer: string, error = 'gave up'): SchedulerEvent[] {
    const events: SchedulerEvent[] = []
    const lease = this.leases.get(leaseId)
    if (lease === undefined || lease.peer.id !== peer) return events
    lease.peer.gaveUp++
    if (!lease.canary) {
      const shard = lease.job.shards[lease.shard]!
      shard.giveUps++
      shard.lastError = error
    }
    this.dropLease(lease, events)
    this.gaveUp.push(lease)
    return events
  }

  /**
   * Reopens every lease whose deadline is ≤ `now`, and lets peers that gave
   * up a shard before then have it again. A job whose own deadline is ≤
   * `now` ends: every shard not accepted yet fails (`deadline`), held ones
   * too (their peers were never vetted), and the job is done.
   */
  expire (now: number): SchedulerEvent[] {
    const events: SchedulerEvent[] = []
    for (const lease of [...this.leases.values()]) {
      if (lease.deadline > now) continue
      // A lease never outlives its job's deadline: the lease lapsing is not the peer's doing then.
      if (lease.deadline < lease.job.spec.policy.deadline) lease.peer.expired++
      this.dropLease(lease, events, 'lease:expired')
    }
    for (const job of this.jobs.values()) if (!job.done && now >= job.spec.policy.deadline) this.endAtDeadline(job, events)
    if (this.gaveUp.length > 0) {
      this.gaveUp = this.gaveUp.filter(lease => {
        if (lease.deadline > now) return true
        if (!lease.job.removed) this.forgetLease(lease)
        return false
      })
    }
    return events
  }

  /**
   * The peer left: its leases are reopened now. Its reputation is kept (it may come
   * back), but results of a peer never vetted stop counting, since it cannot be vetted any more.
   */
  removePeer (peer: string): SchedulerEvent[] {
    const events: SchedulerEvent[] = []
    const record = this.peers.get(peer)
    if (record === undefined) return events
    record.departed = true
    for (const id of [...record.leases]) this.dropLease(this.leases.get(id)!, events, 'lease:cancelled')
    if (!record.vetted) this.revisit(record, s => s.status !== 'failed', events)
    return events
  }

  progress (jobId: string): JobProgress | undefined {
    const job = this.jobs.get(jobId)
    if (job === undefined) return undefined
    return {
      shards: job.realShards,
      accepted: job.accepted,
      failed: job.failed,
      held: job.held,
      open: job.realShards - job.accepted - job.failed - job.held,
      inFlight: job.inFlight,
      results: job.results,
      canaryResults: job.canaryResults,
      done: job.done
    }
  }

  /** What the scheduler knows of a peer, or undefined if it never pulled. */
  standing (peer: string): PeerStanding | undefined {
    const record = this.peers.get(peer)
    return record === undefined ? undefined : standing(record, this.opts)
  }

  /**
   * Leases of `job` that `peer` may still take: the job's outstanding work
   * (open shards and leases in flight) split evenly among the peers working
   * for this requester (`workingPeers`), and always at least one. Without it
   * the first volunteer to pull a new job of a few shards took all of them
   * (before it has timed a shard, a volunteer asks for two groups' worth),
   * and with one replica the others had nothing to do. Never none: a peer
   * may hold leases it never heard of (a reply lost with its connection),
   * which must not keep it from work until they run out.
   */
  private shareLeft (job: Job<O>, peer: PeerRecord, now: number): number {
    let mine = 0
    for (const id of peer.leases) if (this.leases.get(id)?.job === job) mine++
    const share = Math.ceil((job.ready.size + job.urgent.size + job.inFlight) / Math.max(1, this.workingPeers(now)))
    return Math.max(1, share - mine)
  }

  /**
   * Peers that pulled within a lease period and have handed in a result
   * before (so an identity that only pulls shrinks nobody's share), neither
   * departed nor faulty. Counted at most once a second: every pull asks.
   */
  private workingPeers (now: number): number {
    if (now - this.working.at >= WORKING_RECOUNT_MS) {
      let count = 0
      for (const r of this.peers.values()) if (now - r.lastPull < this.opts.leaseMs && r.completed > 0 && !r.departed && !r.faulty) count++
      this.working = { count, at: now }
    }
    return this.working.count
  }

  private record (peer: string): PeerRecord {
    let record = this.peers.get(peer)
    if (record === undefined) this.peers.set(peer, record = new PeerRecord(peer))
    return record
  }

  /** Fair share: next requester in rotation with work for this peer, then its next job. */
  private assignOne (peer: PeerRecord, now: number, onlyJob?: string): Assignment | undefined {
    const R = this.requesters.length
    for (let k = 0; k < R; k++) {
      const ri = (this.requesterCursor + k) % R
      const r = this.requesters[ri]!
      const J = r.jobs.length
      for (let j = 0; j < J; j++) {
        const ji = (r.cursor + j) % J
        const job = r.jobs[ji]!
        if (job.removed || now >= job.spec.policy.deadline || (onlyJob !== undefined && job.spec.jobId !== onlyJob)) continue
        const a = this.assignFromJob(job, peer, now)
        if (a === undefined) continue
        r.cursor = (ji + 1) % J
        this.requesterCursor = (ri + 1) % R
        return a
      }
    }
    return undefined
  }

  private assignFromJob (job: Job<O>, peer: PeerRecord, now: number): Assignment | undefined {
    const probation = job.canaryIdx.length > 0 && !peer.vetted && peer.canariesInFlight === 0
    // With no shard open, an unvetted peer still gets a canary while verdicts are held:
    // they may wait for its vetting, which nothing else would bring.
    if (job.ready.size === 0 && job.urgent.size === 0 && !(probation && job.held > 0)) return undefined
    if (job.canaryIdx.length > 0) {
      const trusted = peer.trusted(this.opts)
      const rate = trusted ? job.spec.policy.canaryRate : Math.max(job.spec.policy.canaryRate, this.opts.probationCanaryRate)
      if (probation || this.rng.next() < rate) {
        const c = this.pickCanary(job, peer)
        if (c !== undefined) return this.lease(job, c, peer, true, now)
      }
    }
    const shard = this.take(job, job.urgent, peer) ?? this.take(job, job.ready, peer)
    if (shard === undefined) return undefined
    const fresh = shard.results.length === 0 && shard.leases.length === 0 && shard.revision === 0
    if (fresh && job.spec.adaptive !== false && job.canaryIdx.length > 0 && job.spec.policy.replicas > 1 &&
      peer.trusted(this.opts) && this.rng.next() < this.opts.singleReplicaRate) {
      shard.single = true
      shard.base = shard.need = 1
    }
    shard.peers.push(peer.id)
    const a = this.lease(job, shard.index, peer, false, now)
    shard.leases.push(a.leaseId)
    this.refresh(job, shard)
    return a
  }

  private take (job: Job<O>, queue: Set<number>, peer: PeerRecord): Shard<O> | undefined {
    let scanned = 0
    for (const i of queue) {
      const shard = job.shards[i]!
      if (!shard.peers.includes(peer.id)) return shard
      if (++scanned >= SCAN_LIMIT) break
    }
    return undefined
  }

  private pickCanary (job: Job<O>, peer: PeerRecord): number | undefined {
    for (let tries = 0; tries < 8; tries++) {
      const c = job.canaryIdx[this.rng.int(job.canaryIdx.length)]!
      const key = canaryKey(job, c)
      if (!peer.canariesSeen.has(key)) {
        peer.canariesSeen.add(key)
        return c
      }
    }
    return undefined
  }

  private lease (job: Job<O>, shard: number, peer: PeerRecord, canary: boolean, now: number): Assignment {
    const id = this.nextLease++
    const deadline = Math.min(now + this.opts.leaseMs, job.spec.policy.deadline)
    this.leases.set(id, { id, job, shard, peer, canary, deadline })
    peer.leases.add(id)
    if (canary) peer.canariesInFlight++
    job.inFlight++
    return { jobId: job.spec.jobId, shard, leaseId: id, canary, deadline }
  }

  private removeLease (lease: Lease<O>): void {
    this.leases.delete(lease.id)
    lease.peer.leases.delete(lease.id)
    lease.job.inFlight--
    if (lease.canary) {
      lease.peer.canariesInFlight--
      return
    }
    const shard = lease.job.shards[lease.shard]!
    shard.leases = shard.leases.filter(l => l !== lease.id)
  }

  /**
   * Removes a lease without a result and reopens its shard; reports it if `type` is given.
   * A lease that ran out or was cancelled (`type`) leaves its peer free to be given
   * that shard or canary again: in a small swarm, or once every other peer has had
   * it, nobody else may be left to take it. A lease given up (`fail`, no `type`) does not.
   */
  private dropLease (lease: Lease<O>, events: SchedulerEvent[], type?: 'lease:expired' | 'lease:cancelled'): void {
    this.removeLease(lease)
    if (type !== undefined) {
      events.push({ type, leaseId: lease.id, peer: lease.peer.id, jobId: lease.job.spec.jobId, shard: lease.shard })
      this.forgetLease(lease)
    }
    if (!lease.canary && !lease.job.removed) this.settle(lease.job, lease.job.shards[lease.shard]!, events)
  }

  /** The peer may be given the lease's shard or canary again, unless it answered that shard. */
  private forgetLease (lease: Lease<O>): void {
    const { job, peer } = lease
    if (lease.canary) { peer.canariesSeen.delete(canaryKey(job, lease.shard)); return }
    const shard = job.shards[lease.shard]!
    if (shard.results.some(r => r.peer === peer.id)) return
    const at = shard.peers.indexOf(peer.id)
    if (at >= 0) shard.peers.splice(at, 1)
  }

  private markFaulty (peer: PeerRecord, job: Job<O>, canary: number, events: SchedulerEvent[]): void {
    peer.canariesFailed++
    if (peer.faulty) return
    peer.faulty = true
    events.push({ type: 'peer:faulty', peer: peer.id, jobId: job.spec.jobId, shard: canary })
    for (const id of [...peer.leases]) this.dropLease(this.leases.get(id)!, events, 'lease:cancelled')
    this.revisit(peer, () => true, events)
  }

  /** Re-decides every shard `peer` answered that matches `which` (after a fault, a departure or a passed canary). */
  private revisit (peer: PeerRecord, which: (s: Shard<O>) => boolean, events: SchedulerEvent[]): void {
    for (const [key, index] of peer.contributions) {
      const job = this.jobsByKey[key]!
      const shard = job.shards[index]!
      if (job.removed || !which(shard)) continue
      if (shard.status === 'accepted' && peer.faulty && shard.results.some(r => r.record === peer)) {
        // Its accepted work is re-verified with at least one fresh replica before a new verdict.
        this.reopen(job, shard, peer, events)
      }
      this.settle(job, shard, events)
    }
  }

  /**
   * Reopens, with one fresh replica each, the accepted shards an outvoted
   * peer was credited for since its last re-check; its answers still count.
   */
  private reverifyCredited (peer: PeerRecord, events: SchedulerEvent[]): void {
    const from = peer.reverifiedUpTo
    peer.reverifiedUpTo = peer.contributions.length
    for (const [key, index] of peer.contributions.slice(from)) {
      const job = this.jobsByKey[key]!
      const shard = job.shards[index]!
      if (job.removed || shard.status !== 'accepted' || !shard.credited.includes(peer.id)) continue
      this.reopen(job, shard, peer, events)
      this.settle(job, shard, events)
    }
  }

  /** Reopens an accepted shard for one more replica than it has answers that still count (a new revision). */
  private reopen (job: Job<O>, shard: Shard<O>, peer: PeerRecord, events: SchedulerEvent[]): void {
    shard.revision++
    shard.single = false
    shard.base = this.counted(job, shard).length + 1
    events.push({ type: 'shard:reverify', jobId: job.spec.jobId, shard: shard.index, peer: peer.id, revision: shard.revision })
    this.setStatus(job, shard, 'open')
  }

  /** Most results plus leases a shard may have: every re-verification allows two more (a faulty peer's results stay in the list). */
  private cap (job: Job<O>, shard: Shard<O>): number {
    return job.spec.policy.replicas + this.opts.maxExtraReplicas + 2 * shard.revision
  }

  private counted (job: Job<O>, shard: Shard<O>): Array<Replica<O> & { record: PeerRecord }> {
    const vetting = job.canaryIdx.length > 0
    return shard.results.filter(r => !r.record.faulty && !(vetting && r.record.departed && !r.record.vetted))
  }

  /** Re-decides a shard and updates its queue membership and the job's counters. */
  private settle (job: Job<O>, shard: Shard<O>, events: SchedulerEvent[]): void {
    if (shard.status === 'failed' || shard.status === 'accepted') return this.refresh(job, shard)
    const counted = this.counted(job, shard)
    const policy = job.spec.policy
    const vetting = job.canaryIdx.length > 0
    const d = decide({
      rule: policy.compare,
      quorum: shard.single ? 1 : policy.quorum,
      base: shard.base,
      counted,
      vetted: p => !vetting || this.peers.get(p)!.vetted,
      comparator: this.comparator
    })
    shard.counted = counted.length
    if (d.kind === 'accept' && shard.single && !this.peers.get(d.top[0]!.peer)!.trusted(this.opts)) {
      // Leased as a single replica while its peer was trusted, handed in after the peer lost that trust
      // (outvoted elsewhere): its word alone no longer settles the shard.
      shard.single = false
      shard.base = Math.max(2, policy.quorum)
      return this.settle(job, shard, events)
    }
    if (d.kind === 'accept' && shard.single && !shard.audited) {
      // Drawn once, after the result is in: the peer cannot know which results are audited.
      shard.audited = true
      if (this.rng.next() < this.opts.auditRate) {
        shard.single = false
        shard.base = Math.max(2, policy.quorum)
        events.push({ type: 'shard:audit', jobId: job.spec.jobId, shard: shard.index, peer: d.top[0]!.peer })
        return this.settle(job, shard, events)
      }
    }
    if (d.kind === 'accept') {
      const credited = d.top.map(r => r.peer)
      const rejected = [...new Set(shard.results.map(r => r.peer).filter(p => !credited.includes(p)))]
      const outvoted = counted.filter(r => !credited.includes(r.peer)).map(r => r.record)
      for (const record of outvoted) record.rejections++
      if (credited.length > 1) for (const r of counted) if (credited.includes(r.peer)) r.record.agreements++
      this.setStatus(job, shard, 'accepted')
      shard.need = counted.length
      shard.credited = credited
      events.push({ type: 'shard:accepted', jobId: job.spec.jobId, shard: shard.index, outputHash: d.top[0]!.outputHash, credited, rejected, revision: shard.revision })
      for (const id of [...shard.leases]) this.dropLease(this.leases.get(id)!, events, 'lease:cancelled')
      for (const record of outvoted) this.reverifyCredited(record, events)
    } else if (d.kind === 'hold') {
      this.setStatus(job, shard, 'held')
      shard.need = counted.length
    } else {
      shard.need = d.need
      const noQuorum = shard.results.length + shard.leases.length >= this.cap(job, shard) && shard.need > counted.length + shard.leases.length
      const givenUp = shard.giveUps >= this.opts.maxGiveUps
      if (noQuorum || givenUp) {
        // Decided once the last lease out is back (it may still bring a result that settles it).
        if (shard.leases.length === 0) {
          this.setStatus(job, shard, 'failed')
          const failure: ShardFailure = givenUp
            ? { kind: 'given-up', times: shard.giveUps, error: shard.lastError }
            : { kind: 'no-quorum', replicas: shard.results.length }
          events.push({ type: 'shard:failed', jobId: job.spec.jobId, shard: shard.index, failure })
        }
      } else {
        this.setStatus(job, shard, 'open')
      }
    }
    this.refresh(job, shard)
    this.updateDone(job, events)
  }

  /** Whether every non-canary shard of `job` is decided; reports `job:done` when that becomes so. */
  private updateDone (job: Job<O>, events: SchedulerEvent[]): void {
    const done = job.accepted + job.failed === job.realShards
    if (done && !job.done) events.push({ type: 'job:done', jobId: job.spec.jobId })
    job.done = done
  }

  /** Fails every shard of `job` still undecided (its leases are back: they end at the job's deadline). */
  private endAtDeadline (job: Job<O>, events: SchedulerEvent[]): void {
    const failure: ShardFailure = { kind: 'deadline', at: job.spec.policy.deadline }
    for (const shard of job.shards) {
      if (shard === undefined || shard.status === 'accepted' || shard.status === 'failed' || shard.leases.length > 0) continue
      this.setStatus(job, shard, 'failed')
      this.refresh(job, shard)
      events.push({ type: 'shard:failed', jobId: job.spec.jobId, shard: shard.index, failure })
    }
    this.updateDone(job, events)
  }

  private setStatus (job: Job<O>, shard: Shard<O>, status: Status): void {
    if (shard.status === status) return
    if (shard.status !== 'open') job[shard.status]--
    if (status !== 'open') job[status]++
    shard.status = status
  }

  /** Puts the shard in the queue it belongs to: fresh, started, or none if it needs no lease now. */
  private refresh (job: Job<O>, shard: Shard<O>): void {
    const open = shard.status === 'open' && shard.results.length + shard.leases.length < this.cap(job, shard) && shard.giveUps < this.opts.maxGiveUps
      ? shard.need - shard.counted - shard.leases.length
      : 0
    if (open <= 0) {
      job.ready.delete(shard.index)
      job.urgent.delete(shard.index)
      return
    }
    const fresh = shard.results.length === 0 && shard.leases.length === 0 && shard.revision === 0
    if (fresh) {
      if (!job.ready.has(shard.index)) job.ready.add(shard.index)
    } else {
      job.ready.delete(shard.index)
      if (!job.urgent.has(shard.index)) job.urgent.add(shard.index)
    }
  }
}
