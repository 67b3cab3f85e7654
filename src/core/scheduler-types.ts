/**
 * Contracts of the pull scheduler (scheduler.ts): its options with defaults,
 * the job it is given, what a pull hands out, and the events it reports.
 * Peers and jobs are opaque strings (the caller uses hex keys); output
 * hashes are lowercase hex strings; `O` is the caller's decoded output
 * (a `TensorMap` in the requester), compared only through the injected
 * comparator, so the scheduler itself stays pure.
 */
import type { CompareRule, JobPolicy } from './schemas.ts'

/** Whether two decoded outputs agree under `rule`; the requester passes `(r, a, b) => compareOutputs(r, a, b).equal`. */
export type Comparator<O> = (rule: CompareRule, a: O, b: O) => boolean

/** Options of {@link Scheduler}; every field has a default in {@link SCHEDULER_DEFAULTS}. */
export interface SchedulerInit<O = unknown> {
  /** Seed of the PRNG behind canary mixing and adaptive replication. */
  seed?: number
  /** Lease lifetime in ms; a lease not completed by then is reassigned. */
  leaseMs?: number
  /** Most leases one peer may hold at once (bounds memory and what a vanished peer takes with it). */
  maxLeasesPerPeer?: number
  /** Replicas a shard may get beyond `policy.replicas` while resolving disagreement or re-verifying. */
  maxExtraReplicas?: number
  /**
   * Canaries a peer must pass before it may get single replicas. A peer that
   * lies on a fraction p of its work (it cannot tell canaries apart) passes n
   * of them with probability (1 − p)^n. With 3 (at a probation rate of 0.5),
   * sneaky colluders got wrong single replicas accepted in 13 of 200 seeds of
   * the simulated swarm (bench/sim/swarm.ts); with 10, in none (6 of 1,500).
   */
  trustAfter?: number
  /**
   * Replicated results a peer must have had credited alongside other peers
   * before it may get single replicas: a peer that lies now and then is
   * outvoted long before it gets there, and an outvoted peer is never trusted.
   */
  agreeAfter?: number
  /** Probability that a fresh shard pulled by a trusted peer is given as a single replica. */
  singleReplicaRate?: number
  /**
   * Canary rate for peers not yet trusted (the job's own rate applies if
   * higher). High, so that trust is earned mostly on canaries, which cost
   * no replication, rather than on replicated real shards.
   */
  probationCanaryRate?: number
  /**
   * Probability that a single-replica result is audited: held back and given
   * to a second peer before any verdict. The peer cannot tell which of its
   * results are audited, so a trusted peer that starts lying is outvoted on
   * an audit, loses trust and has its earlier accepted work re-verified.
   */
  auditRate?: number
  /**
   * The first lease id handed out. A requester that reloads keeps its key and
   * its volunteers, who may still hand in results for leases of the session
   * before: ids that start above all of those (see `leaseIdBase`) make such a
   * result unknown, not a result for whatever new lease got the same number.
   */
  firstLease?: number
  /**
   * Times a shard may be given up (a peer hands in an error, not a result)
   * before it fails, unless it is decided first. An input the model rejects
   * fails on every peer, and would otherwise be handed out forever. A peer
   * may take a shard it gave up again only once that lease would have run
   * out, so a lone volunteer fails such a shard after `maxGiveUps` lease
   * times, and several volunteers fail it at once. A give-up that was a
   * passing fault (a worker that died, memory short for a moment) leaves
   * the others to answer.
   */
  maxGiveUps?: number
  /** Compares outputs whose hashes differ, for `argmax` and `allclose`; without it only equal hashes agree. */
  comparator?: Comparator<O>
}

export const SCHEDULER_DEFAULTS = {
  seed: 1,
  leaseMs: 60_000,
  maxLeasesPerPeer: 8,
  maxExtraReplicas: 6,
  trustAfter: 10,
  agreeAfter: 3,
  singleReplicaRate: 0.97,
  probationCanaryRate: 0.8,
  auditRate: 0.12,
  firstLease: 1,
  maxGiveUps: 3
} as const

/** Leases one session could hand out per millisecond before its ids reach the next session's (far more than any can). */
const LEASES_PER_MS = 1024

/**
 * A first lease id above every id a session started before `now` (ms since
 * the epoch) can have handed out, and below 2^53 until the year 2248.
 */
export function leaseIdBase (now: number): number {
  return Math.max(1, Math.floor(now)) * LEASES_PER_MS
}

/** A known answer for a canary shard. */
export interface KnownAnswer<O = unknown> {
  outputHash: string
  /** The decoded output, needed when the rule is not `exact` (compared with the comparator). */
  output?: O
}

/** A job as the scheduler sees it. */
export interface JobSpec<O = unknown> {
  jobId: string
  /** Who posted it; fair share rotates over requesters first, then over their jobs. */
  requester: string
  /** Number of shards in the manifest, canary shards included. */
  shards: number
  policy: JobPolicy
  /** Shard indices whose answer is known (they are in the manifest like any other shard). */
  canaries?: Map<number, KnownAnswer<O>>
  /** Shards accepted in an earlier session (e.g. before a requester reload): counted as accepted, never scheduled. */
  settled?: ReadonlySet<number>
  /** Shards that failed in an earlier session: counted as failed, never scheduled. Disjoint from `settled`. */
  failed?: ReadonlyMap<number, ShardFailure>
  /**
   * Shards whose accepted answer was reopened for re-verification in an
   * earlier session and not decided again (a reload in between): open, and
   * decided afresh, see {@link Reverifying}. Disjoint from `settled`.
   */
  reverifying?: ReadonlyMap<number, Reverifying>
  /** Allow single replicas for trusted peers (default true; never when the job has no canaries). */
  adaptive?: boolean
}

/**
 * A re-verification that outlived the session that started it. The answers
 * it had are gone with that session (which peers were faulty, who was
 * vetted), so the shard gets a full set of fresh replicas, never from
 * `peer`, and its verdict carries `revision`, superseding the old one.
 */
export interface Reverifying {
  /** Revision of the verdict the re-verification will issue (≥ 1). */
  revision: number
  /** The peer whose failed canary or outvote reopened the shard. */
  peer: string
}

/** One unit of work handed to a peer. `canary` is for the caller only: never send it to the volunteer. */
export interface Assignment {
  jobId: string
  shard: number
  leaseId: number
  canary: boolean
  /** ms; after this the lease may be reassigned. */
  deadline: number
}

/** A result a peer returns for a lease. */
export interface Completion<O = unknown> {
  outputHash: string
  output?: O
}

/** Everything the scheduler reports; the caller turns `shard:accepted` into a signed Verdict. */
export type SchedulerEvent =
  /** A shard's output is decided. `revision` > 0 means it was re-verified and supersedes earlier verdicts. */
  | { type: 'shard:accepted', jobId: string, shard: number, outputHash: string, credited: string[], rejected: string[], revision: number }
  /** An accepted shard is reopened because a peer credited for it turned out faulty or was outvoted elsewhere; its next verdict will carry `revision`. */
  | { type: 'shard:reverify', jobId: string, shard: number, peer: string, revision: number }
  /** A single-replica result is held back for a second replica before any verdict. */
  | { type: 'shard:audit', jobId: string, shard: number, peer: string }
  /** No verdict is possible: see {@link ShardFailure}. */
  | { type: 'shard:failed', jobId: string, shard: number, failure: ShardFailure }
  | { type: 'peer:faulty', peer: string, jobId: string, shard: number }
  | { type: 'canary:passed', peer: string, jobId: string, shard: number }
  /** A lease the peer still holds is no longer needed (shard decided or peer faulty): tell the peer to stop. */
  | { type: 'lease:cancelled', leaseId: number, peer: string, jobId: string, shard: number }
  /** A lease ran out and its shard is open again. */
  | { type: 'lease:expired', leaseId: number, peer: string, jobId: string, shard: number }
  /** A completion that does not match a live lease of that peer. */
  | { type: 'result:refused', leaseId: number, peer: string, reason: string }
  /** Every non-canary shard is accepted or failed and nothing is in flight. */
  | { type: 'job:done', jobId: string }

/** Why a shard failed. */
export type ShardFailure =
  /** No quorum among the most replicas the shard may have. */
  | { kind: 'no-quorum', replicas: number }
  /** Given up `times` (`maxGiveUps`) times; `error` is what the last peer reported (its words, not checked). */
  | { kind: 'given-up', times: number, error: string }
  /** Not decided by the job's deadline (`at`, ms): nothing of the job is handed out after it. */
  | { kind: 'deadline', at: number }

/** A failure in one line, for logs. */
export function describeFailure (f: ShardFailure): string {
  switch (f.kind) {
    case 'no-quorum': return `no quorum after ${f.replicas} replicas`
    case 'given-up': return `given up ${f.times} times, last: ${f.error}`
    case 'deadline': return `not decided by the job's deadline (${new Date(f.at).toISOString()})`
  }
}

/** Counts for a job's progress view. */
export interface JobProgress {
  /** Non-canary shards. */
  shards: number
  accepted: number
  failed: number
  /** Shards with a quorum from peers not yet vetted by a canary. */
  held: number
  /** Shards still waiting for results (with or without leases). */
  open: number
  /** Leases in flight, canaries included. */
  inFlight: number
  /** Results received, canaries included. */
  results: number
  /** Canary results received. */
  canaryResults: number
  done: boolean
}
