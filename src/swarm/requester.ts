/**
 * The requester runtime (DESIGN.md "Data flow of one job", steps 1, 2, 5, 6):
 * posts signed job manifests, answers volunteers' pulls from the pure
 * scheduler, checks every result (output decodes, attestation signed by the
 * volunteer over exactly this job, shard, input and output), appends each
 * decision as a signed verdict to its transparency log, signs tree heads
 * over them and gossips one receipt per verdict. Peers that missed receipts
 * (gossip does not replay) ask for them over `/essaim/log/1.0.0`; the latest
 * head is announced on the log topic when a peer subscribes to it, and
 * while a job runs, so they learn that they are behind. (It publishes on the jobs
 * and log topics; the volunteer runtime of the same tab subscribes to them
 * and feeds the ledger, so each topic has exactly one validator.) Everything needed to resume
 * after a reload (manifest, inputs, canary answers, accepted outputs,
 * failed shards, log) is written to IndexedDB before it is relied on. A job
 * can be cancelled, its failed shards tried again, and once it is over it
 * can be deleted (its verdicts stay in the log).
 */
import { TypedEventEmitter } from 'main-event'
import type { GossipSub, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import { open, openAsync, sealAsync, type Envelope, type OpenResult } from '../core/envelope.ts'
import type { Identity } from '../core/identity.ts'
import { bytesEqual, fromHex, sha256, sha256Async, toHex } from '../core/bytes.ts'
import { errorInfo, errorLine, type ErrorInfo } from '../core/errors.ts'
import { largestShardBytes, type CompareRule, type JobBody, type JobPolicy, type ModelRef } from '../core/schemas.ts'
import { decodeTensors, type TensorMap } from '../core/tensors.ts'
import { compareOutputs } from '../core/compare.ts'
import { describeFailure, leaseIdBase, Scheduler, type SchedulerEvent, type ShardFailure } from '../core/scheduler.ts'
import { MerkleLog } from '../core/merkle-log.ts'
import { Lru } from '../core/lru.ts'
import { sealTreeHeadAsync, type HeadClaim } from '../core/tree-head.ts'
import { packShardInput } from '../core/packed-input.ts'
import { issueReceiptAsync, verdictCredited } from '../core/receipt.ts'
import type { Ledger } from '../core/ledger.ts'
import { refusal, type PullReply, type PullRequest, type ShardResult } from '../net/protocols/work.ts'
import type { WorkService } from '../net/protocols/work.ts'
import type { LogService } from '../net/protocols/log.ts'
import type { Presence } from '../net/presence.ts'
import type { PeerPenalties } from '../net/scoring.ts'
import { publicKeyOf } from '../net/peer-keys.ts'
import {
  ANNOUNCE_ON_JOIN_MS, HEAD_BATCH_MS, HEAD_REPEAT_MS, HEAD_REPEATS, JOB_ANNOUNCE_MS, LOG_MAX_PAGE, TOPIC_JOBS, TOPIC_LOG, WORK_IDLE_WAIT_MS,
  WORK_MAX_HELD, WORK_MAX_OUTPUT_BYTES, WORK_REPLY_TARGET_BYTES
} from '../net/constants.ts'
import type { JobStore, StoredDecision } from '../store/job-store.ts'
import type { StoredFailure, StoredJob, StoredOutput } from '../store/db.ts'
import { Sequencer } from './sequencer.ts'

/** Catch-up receipts kept for re-serving against one head (a few MiB at most). */
const SERVED_RECEIPTS_KEPT = 4096
/** Peers caught failing a canary that are remembered across reloads; beyond it the oldest is forgotten. */
const FAULTY_KEPT = 4096
/** The kv entry holding them. */
const FAULTY_KEY = 'requester:faulty'
/** Receipts of the stored log signed for this tab's own ledger at a time, between which the thread is yielded. */
const OWN_RECEIPTS_BATCH = 256
/** How long after start they are signed. */
const OWN_RECEIPTS_DELAY_MS = 2_000
/** Verdicts read at a time (~20 µs each) when indexing the log by credited key, between which the thread is yielded. */
const CREDIT_INDEX_SLICE = 2_000

/** A peer caught failing a canary: which job and canary shard, and when. */
interface FaultyPeer { peer: string, jobId: string, shard: number, at: number }

/** What a requester fills in to post a job. */
export interface JobDraft {
  title: string
  /** With `bytes` for a model outside the catalog. */
  model: ModelRef
  /** `encodeTensors` bytes of each shard's input. */
  inputs: Uint8Array[]
  policy: JobPolicy
  /** Known answers (`encodeTensors` bytes) of some shards, computed by the requester: the canaries. */
  canaries?: Map<number, Uint8Array>
  /** Shown on the job page (file names, processing id, …). */
  meta?: unknown
}

/** One volunteer's answer to a shard, for the per-shard view; `ms` is the worker time its attestation claims (its word, unchecked). */
export interface ShardAnswer { peer: string, outputHash: string, at: number, canary: boolean, ms: number }

export interface ShardView {
  shard: number
  status: 'pending' | 'in-flight' | 'verified' | 'canary' | 'failed'
  answers: ShardAnswer[]
  credited: string[]
  rejected: string[]
  outputHash?: string
  /** Why no verdict was possible (status 'failed'). */
  failure?: ShardFailure
}

export interface JobView {
  jobId: string
  title: string
  modelId: string
  /** sha256 (hex) of the model the job runs. */
  modelSha256: string
  policy: JobPolicy
  meta: unknown
  createdAt: number
  status: JobStatus
  shards: number
  verified: number
  inFlight: number
  pending: number
  failed: number
  peers: string[]
  /** Verified shards per second over the last minute. */
  throughput: number
  etaMs: number | undefined
  faulty: string[]
}

/**
 * A job's status as shown: the stored one, except while verdicts decided
 * before it changed are still being written. A job is 'done' once its last
 * verdicts are stored (until then 'running'), and a job cancelled mid-way is
 * 'cancelling' until the verdicts decided before the cancel are stored: its
 * verified count may still rise until then, never after.
 */
export type JobStatus = StoredJob['status'] | 'cancelling'

/** Cancelled, whether or not the verdicts decided before the cancel are stored yet (a job's or an OCR job's status). */
export function wasCancelled (status: string): boolean {
  return status === 'cancelled' || status === 'cancelling'
}

interface RunningJob {
  stored: StoredJob
  /** Verdicts decided whose signature is not ready yet (then appended, and counted in `unsaved` until stored). */
  signing: number
  manifest: Envelope<'job'>
  compare: CompareRule
  canaries: Map<number, Uint8Array>
  /** Accepted outputs (not those reopened for re-verification), as stored. */
  outputs: Map<number, StoredOutput>
  /**
   * Accepted outputs whose write is still under way, by shard (a count: a
   * shard may be accepted again meanwhile). Shown as verified only once
   * stored: a reload would bring back only what is.
   */
  unsaved: Map<number, number>
  answers: Map<number, ShardAnswer[]>
  /** Output bytes received per shard, by output hash, until the shard is decided. */
  candidates: Map<number, Map<string, Uint8Array>>
  leases: Map<number, { shard: number, peer: string, since: number }>
  /** Bytes of the job's largest shard input (how many fit in one pull reply). */
  largestShard: number
  /** When the job's verdicts of the last THROUGHPUT_WINDOW_MS were decided, oldest first (older ones are dropped as new ones come). */
  recentVerifiedAt: number[]
  faulty: Set<string>
  failed: Map<number, ShardFailure>
}

export interface RequesterInit {
  identity: Identity
  peerId: PeerId
  pubsub: GossipSub
  work: WorkService
  /** Serves this requester's receipts to peers catching up on its log. */
  logService: LogService
  presence: Presence
  store: JobStore
  ledger: Ledger
  log: Logger
  /** Told who failed a canary or was outvoted, so gossipsub scoring graylists or down-scores them. */
  penalties?: PeerPenalties
  now?: () => number
  /** How often open jobs and the log's head are announced (default JOB_ANNOUNCE_MS; tests shorten it). */
  announceMs?: number
  /** Spacing of an unchanged head's repeats (default HEAD_REPEAT_MS; tests shorten it). */
  headRepeatMs?: number
}

export interface RequesterEvents {
  'job:update': CustomEvent<string>
  'job:error': CustomEvent<{ jobId: string, error: ErrorInfo }>
}

/** The window a job's throughput (and so its ETA) is measured over. */
const THROUGHPUT_WINDOW_MS = 60_000

/** Notes a verdict of `job` decided at `now`, forgetting those out of the throughput window. */
function noteVerified (job: RunningJob, now: number): void {
  const times = job.recentVerifiedAt
  times.push(now)
  const stale = firstAfter(times, now - THROUGHPUT_WINDOW_MS)
  // Dropped in bulk, not one at a time: a busy job decides hundreds of verdicts a second.
  if (stale > 1_000 || stale > times.length / 2) times.splice(0, stale)
}

/** The index of the first of the ascending `values` greater than `v` (their length if none). */
function firstAfter (values: readonly number[], v: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (values[mid]! <= v) lo = mid + 1; else hi = mid }
  return lo
}

/** Notes `leaf` under each key its verdict credits (public key hex). */
function addCredits (index: Map<string, number[]>, leaf: number, verdict: Uint8Array): void {
  for (const key of verdictCredited(verdict)) {
    const hex = toHex(key)
    const leaves = index.get(hex)
    if (leaves === undefined) index.set(hex, [leaf])
    else leaves.push(leaf)
  }
}

export class Requester extends TypedEventEmitter<RequesterEvents> {
  private readonly jobs = new Map<string, RunningJob>()
  private readonly scheduler: Scheduler<TensorMap>
  private readonly merkle = new MerkleLog()
  private readonly leaves: Uint8Array[] = []
  /**
   * The leaves whose verdict credits each key (public key hex), ascending:
   * made on the first catch-up request that names a key (see
   * {@link creditedLeaves}), then kept up as verdicts are appended.
   */
  private credits: Map<string, number[]> | undefined
  private creditsMade: Promise<Map<string, number[]>> | undefined
  private readonly seq: Sequencer
  private readonly now: () => number
  private readonly log: Logger
  /** Leases cancelled per peer, delivered at its next pull. */
  private readonly cancels = new Map<string, number[]>()
  private readonly unsigned: number[] = []
  /** Verdicts and reopens decided but not yet written, in order; the next write takes them all. */
  private readonly unstored: StoredDecision[] = []
  /** The claim of the latest signed head (stored), and that head once signed in this session. */
  private prevHead: HeadClaim | null = null
  private lastHead: Uint8Array | undefined
  /** Size of the head last announced on its own (see {@link announceHead}), and when it was announced. */
  private announcedSize = 0
  private announcedAt = 0
  /** Repeats of an unchanged head still to make (see start()). */
  private headRepeats = 0
  /** Leaves of the log known to be in IndexedDB: a head never covers more (see {@link record}). */
  private storedSize = 0
  /** Set when a write or a signature failed: the requester stops handing out and accepting work. */
  private broken: string | undefined
  /** The tail of the chain of log steps (see {@link inOrder}). */
  private decided: Promise<void> = Promise.resolve()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private stopped = false
  private headTimer?: ReturnType<typeof setTimeout>
  private announceSoon?: ReturnType<typeof setTimeout>
  private headSoon?: ReturnType<typeof setTimeout>
  /** Receipts issued for catch-up against {@link servedHead}, by leaf index (bounded; cleared when the head changes). */
  private readonly served = new Map<number, Uint8Array>()
  private servedHead: Uint8Array | undefined
  private writes: Promise<void> = Promise.resolve()
  /** Peers caught failing a canary, in this session or an earlier one (stored: a reload must not hand them work again). */
  private readonly faultyPeers = new Lru<string, FaultyPeer>(FAULTY_KEPT)

  constructor (private readonly init: RequesterInit) {
    super()
    this.now = init.now ?? Date.now
    this.log = init.log
    this.seq = new Sequencer(this.now)
    this.scheduler = new Scheduler<TensorMap>({
      seed: Math.floor(Math.random() * 2 ** 31),
      leaseMs: 30_000,
      // As many as a volunteer keeps in hand (src/swarm/pull-pace.ts).
      maxLeasesPerPeer: WORK_MAX_HELD,
      // Single replicas only for peers with a long clean record (10 canaries passed, no fault).
      trustAfter: 10,
      // Above every lease of the session before a reload: volunteers may still hand in results for those.
      firstLease: leaseIdBase(this.now()),
      comparator: (rule, a, b) => compareOutputs(rule, a, b).equal
    })
    this.onLost = this.onLost.bind(this)
    this.onSubscription = this.onSubscription.bind(this)
  }

  /** Restores jobs and the log from IndexedDB, then starts serving pulls. */
  async start (): Promise<void> {
    for (const leaf of await this.init.store.logLeaves()) { this.merkle.append(leaf); this.leaves.push(leaf) }
    this.storedSize = this.merkle.size
    this.prevHead = (await this.init.store.getKv<HeadClaim>('requester:head')) ?? null
    if (this.prevHead !== null && this.prevHead.size > this.merkle.size) this.prevHead = null
    // Verdicts stored but not yet under a signed head when the tab went away
    // still need their head and receipts.
    for (let leaf = this.prevHead?.size ?? 0; leaf < this.merkle.size; leaf++) this.unsigned.push(leaf)
    if (this.unsigned.length > 0) this.headTimer = setTimeout(() => { this.headTimer = undefined; this.signHead() }, HEAD_BATCH_MS)
    for (const f of storedFaulty(await this.init.store.getKv<unknown>(FAULTY_KEY))) {
      this.faultyPeers.set(f.peer, f)
      this.scheduler.knownFaulty(f.peer)
      this.init.penalties?.fault(f.peer, 'failed-canary')
    }
    for (const stored of await this.init.store.jobs()) {
      if (stored.status === 'failed') continue
      await this.resume(stored)
    }
    this.init.work.serve(async (peer, request) => await this.onPull(peer, request))
    this.init.logService.serve(async (_peer, request) =>
      await this.receiptsFor('indices' in request ? request.indices : await this.creditedLeaves(toHex(request.credited), request.from, LOG_MAX_PAGE)))
    this.init.presence.addEventListener('presence:lost', this.onLost)
    this.timers.push(setInterval(() => { this.handle(this.scheduler.expire(this.now())) }, 1_000))
    this.timers.push(setInterval(() => {
      void this.announce()
      // Observers that missed receipts learn here that they are behind: while a job runs, and
      // after the log last grew (a job's last receipts, if missed, would otherwise go unnoticed),
      // then a few times more, far apart: an observer that gave up catching up ignores the same
      // head for a while (LOG_CATCH_UP_RETRY_MAX_MS), and hearing it later tries again.
      const running = [...this.jobs.values()].some(j => j.stored.status === 'running')
      if (running || (this.prevHead?.size ?? 0) > this.announcedSize) {
        this.headRepeats = HEAD_REPEATS
        this.announceHead()
      } else if (this.headRepeats > 0 && this.now() - this.announcedAt >= (this.init.headRepeatMs ?? HEAD_REPEAT_MS)) {
        this.headRepeats--
        this.announceHead()
      }
    }, this.init.announceMs ?? JOB_ANNOUNCE_MS))
    this.init.pubsub.addEventListener('subscription-change', this.onSubscription)
    // Not while the page boots and the mesh forms: the Ledger page can wait a moment.
    this.timers.push(setTimeout(() => { void this.creditOwnLog() }, OWN_RECEIPTS_DELAY_MS))
  }

  stop (): void {
    this.stopped = true
    this.timers.forEach(t => clearInterval(t))
    this.timers = []
    clearTimeout(this.headTimer)
    clearTimeout(this.announceSoon)
    this.announceSoon = undefined
    clearTimeout(this.headSoon)
    this.headSoon = undefined
    this.init.logService.serve(undefined)
    this.init.pubsub.removeEventListener('subscription-change', this.onSubscription)
    this.init.work.serve(undefined)
    this.init.presence.removeEventListener('presence:lost', this.onLost)
  }

  /**
   * Signs, stores and announces a job.
   * @returns the job id (hex).
   * @throws {StoreQuotaError} the inputs do not fit in this browser's storage.
   * @throws {SchemaError} the manifest is invalid (too many shards, bad policy).
   */
  async post (draft: JobDraft): Promise<string> {
    // Inputs that deflate well are posted packed (src/core/packed-input.ts): fewer bytes to send; the volunteer's worker inflates them.
    const inputs: Uint8Array[] = []
    for (const input of draft.inputs) inputs.push(await packShardInput(input))
    const hashes = await Promise.all(inputs.map(sha256Async))
    const shards = inputs.map((input, i) => ({ inputHash: hashes[i]!, bytes: input.length }))
    const body: JobBody = { model: draft.model, shards, policy: draft.policy }
    const manifest = await sealAsync('job', body, this.init.identity, this.seq.next('job'))
    const opened = open(manifest, { kinds: ['job'] })
    if (!opened.ok) throw opened.error
    const jobId = toHex(opened.envelope.id)
    const stored: StoredJob = {
      jobId,
      manifest,
      title: draft.title,
      modelId: draft.model.id,
      canaries: [...(draft.canaries ?? new Map<number, Uint8Array>()).entries()].map(([shard, output]) => ({ shard, output })),
      meta: draft.meta ?? null,
      createdAt: this.now(),
      status: 'running'
    }
    await this.init.store.putJob(stored, inputs)
    await this.resume(stored)
    void this.announce()
    return jobId
  }

  /** Jobs this requester posted, newest first. */
  list (): JobView[] {
    return [...this.jobs.keys()].map(id => this.view(id)!).sort((a, b) => b.createdAt - a.createdAt)
  }

  view (jobId: string): JobView | undefined {
    const job = this.jobs.get(jobId)
    if (job === undefined) return undefined
    const total = job.manifest.body.shards.length
    const verified = job.outputs.size - job.unsaved.size + job.canaries.size
    const inFlight = busyShards(job).size
    const now = this.now()
    const recent = job.recentVerifiedAt.slice(firstAfter(job.recentVerifiedAt, now - THROUGHPUT_WINDOW_MS))
    const span = recent.length > 1 ? (recent.at(-1)! - recent[0]!) / 1000 : 0
    const throughput = span > 0 ? (recent.length - 1) / span : 0
    const remaining = total - verified - job.failed.size
    return {
      jobId,
      title: job.stored.title,
      modelId: job.stored.modelId,
      modelSha256: job.manifest.body.model.sha256,
      policy: job.manifest.body.policy,
      meta: job.stored.meta,
      createdAt: job.stored.createdAt,
      status: shownStatus(job),
      shards: total,
      verified,
      inFlight,
      pending: Math.max(0, remaining - inFlight),
      failed: job.failed.size,
      peers: [...new Set([...job.leases.values()].map(l => l.peer))].sort(),
      throughput,
      etaMs: throughput > 0 && remaining > 0 ? remaining / throughput * 1000 : undefined,
      faulty: [...job.faulty].sort()
    }
  }

  /** Per-shard detail: who computed what and whether replicas agreed. */
  shards (jobId: string): ShardView[] {
    const job = this.jobs.get(jobId)
    if (job === undefined) return []
    const inFlight = busyShards(job)
    return job.manifest.body.shards.map((_s, shard) => {
      const out = storedOutput(job, shard)
      const status: ShardView['status'] = job.canaries.has(shard)
        ? 'canary'
        : out !== undefined ? 'verified' : job.failed.has(shard) ? 'failed' : inFlight.has(shard) ? 'in-flight' : 'pending'
      const failure = status === 'failed' ? job.failed.get(shard) : undefined
      return {
        shard,
        status,
        answers: job.answers.get(shard) ?? [],
        credited: out?.credited ?? [],
        rejected: out?.rejected ?? [],
        ...(out !== undefined ? { outputHash: out.outputHash } : job.canaries.has(shard) ? { outputHash: toHex(sha256(job.canaries.get(shard)!)) } : {}),
        ...(failure !== undefined ? { failure } : {})
      }
    })
  }

  /** Accepted outputs (canary answers included), by shard: what the export contains. */
  results (jobId: string): Map<number, Uint8Array> {
    const job = this.jobs.get(jobId)
    const out = new Map<number, Uint8Array>()
    if (job === undefined) return out
    for (const [shard, answer] of job.canaries) out.set(shard, answer)
    for (const shard of job.outputs.keys()) {
      const o = storedOutput(job, shard)
      if (o !== undefined) out.set(shard, o.output)
    }
    return new Map([...out.entries()].sort((a, b) => a[0] - b[0]))
  }

  /**
   * Receipts for every verdict of a job, proven against one fresh tree head:
   * the bundle the job page exports next to the results. It waits for the
   * verdicts decided so far to be stored, so the head covers them all.
   */
  async receiptBundle (jobId: string): Promise<{ receipts: Uint8Array[], heads: Uint8Array[] }> {
    const none = { receipts: [], heads: [] }
    if ((this.jobs.get(jobId)?.outputs.size ?? 0) === 0) return none
    await this.flushed()
    const signing = await this.inOrder(async () => {
      const job = this.jobs.get(jobId)
      if (job === undefined) return undefined
      await this.signHeadNow()
      if (this.lastHead === undefined || this.prevHead?.size !== this.storedSize) await this.sealHead()
      const head = this.lastHead!
      const size = this.prevHead!.size
      // Started here, where the log is as the head says (each takes its proof at once); awaited by the caller.
      const receipts = [...job.outputs.values()].filter(o => o.leaf < size).sort((a, b) => a.leaf - b.leaf)
        .map(o => issueReceiptAsync(this.init.identity, this.merkle, this.leaves[o.leaf]!, o.leaf, head, this.seq.next('receipt')))
      return { receipts, head }
    })
    if (signing === undefined) return none
    return { receipts: (await Promise.all(signing.receipts)).map(r => r.bytes), heads: [signing.head] }
  }

  /**
   * Stops a job: no more of its work is handed out or taken in, and
   * volunteers holding its shards are told to drop them (with their next
   * pull, whose reply also says the job is over). What was verified stays:
   * results, exports and receipts. Kept across a reload. A job already done
   * may be cancelled too, so that nothing runs it again (a re-verification,
   * or an OCR job's reading, which follows its finished detection).
   * @returns false if there is no such job, or it was cancelled already.
   */
  cancel (jobId: string): boolean {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.stored.status === 'cancelled') return false
    this.handle(this.scheduler.removeJob(jobId))
    job.candidates.clear()
    job.stored = { ...job.stored, status: 'cancelled' }
    this.persist(async () => { await this.init.store.setStatus(jobId, 'cancelled') }, jobId)
    this.log('job %s cancelled', jobId)
    this.update(jobId)
    return true
  }

  /**
   * Tries a job's failed shards again (Scheduler.retryFailed): the job runs
   * again until they are decided, or fail anew.
   * @returns how many shards were reopened (0 for a cancelled or unknown job, or one past its deadline).
   */
  retryFailed (jobId: string): number {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.stored.status === 'cancelled') return 0
    const reopened = this.scheduler.retryFailed(jobId, this.now())
    if (reopened.length === 0) return 0
    for (const shard of reopened) {
      job.failed.delete(shard)
      job.answers.delete(shard)
      job.candidates.delete(shard)
    }
    this.persist(async () => { await this.init.store.clearFailures(jobId, reopened) }, jobId)
    this.log('job %s: %d failed shards tried again', jobId, reopened.length)
    this.rerun(job)
    this.update(jobId)
    return reopened.length
  }

  /**
   * Deletes a job that is over (done or cancelled) from this browser: its
   * inputs, outputs and row, to free storage. Its verdicts stay in the log
   * (append-only; volunteers' receipts keep their proofs and are still served).
   * @returns false if there is no such job, or it is still running (cancel it first).
   * @throws the store's error (StoreQuotaError, a DOMException) when the delete could not be written: the job is kept as it was.
   */
  async remove (jobId: string): Promise<boolean> {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.stored.status === 'running') return false
    this.handle(this.scheduler.removeJob(jobId))
    this.jobs.delete(jobId)
    // After every write queued for it (a verdict, a status), so none lands after the delete.
    await this.flushed()
    try {
      await this.init.store.deleteJob(jobId)
    } catch (err) {
      // One transaction: nothing was deleted. The job comes back as stored (a reload would show it
      // anyway), and the caller says why it is still there.
      await this.resume(job.stored).catch(e => { this.log.error('job %s could not be shown again: %s', jobId, (e as Error).message) })
      throw err
    }
    this.log('job %s deleted', jobId)
    this.update(jobId)
    return true
  }

  /** Resolves once every decision taken so far is signed into the log and in IndexedDB (tests, export). */
  async flushed (): Promise<void> {
    await this.decided
    await this.writes
  }

  private async resume (stored: StoredJob): Promise<void> {
    const opened = open(stored.manifest, { kinds: ['job'] })
    if (!opened.ok) { this.log.error('stored job %s does not open: %s', stored.jobId, opened.error.message); return }
    const manifest = opened.envelope as Envelope<'job'>
    const { accepted: saved, reverifying } = await this.init.store.decided(stored.jobId)
    const canaries = new Map(stored.canaries.map(c => [c.shard, c.output]))
    const failed = new Map(storedFailures(stored.failures, manifest.body.shards.length)
      .filter(f => !saved.has(f.shard) && !reverifying.has(f.shard) && !canaries.has(f.shard)).map(f => [f.shard, f.failure]))
    const job: RunningJob = {
      stored,
      manifest,
      compare: manifest.body.policy.compare,
      canaries,
      outputs: saved,
      signing: 0,
      unsaved: new Map(),
      answers: new Map(),
      candidates: new Map(),
      leases: new Map(),
      largestShard: largestShardBytes(manifest.body),
      recentVerifiedAt: [],
      faulty: new Set([...this.faultyPeers.values()].filter(f => f.jobId === stored.jobId).map(f => f.peer)),
      failed
    }
    this.jobs.set(stored.jobId, job)
    // Cancelled: shown with what it verified, never scheduled again.
    if (stored.status === 'cancelled') { this.update(stored.jobId); return }
    const known = new Map<number, { outputHash: string, output?: TensorMap }>()
    for (const [shard, bytes] of canaries) {
      const decoded = decodeTensors(bytes, { maxBytes: WORK_MAX_OUTPUT_BYTES })
      known.set(shard, { outputHash: toHex(sha256(bytes)), ...(decoded.ok ? { output: decoded.tensors } : {}) })
    }
    this.scheduler.addJob({
      jobId: stored.jobId,
      requester: toHex(this.init.identity.publicKey),
      shards: manifest.body.shards.length,
      policy: manifest.body.policy,
      canaries: known,
      settled: new Set(saved.keys()),
      failed,
      reverifying
    })
    if (this.scheduler.progress(stored.jobId)?.done === true) this.finish(job)
    // Reopened just before the reload, its status may not have been written yet.
    else if (reverifying.size > 0) this.rerun(job)
    this.update(stored.jobId)
  }

  private async announce (): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.stored.status !== 'running') continue
      await this.init.pubsub.publish(TOPIC_JOBS, job.stored.manifest).catch(err => { this.log('announcing %s failed: %s', job.stored.jobId, (err as Error).message) })
    }
  }

  /**
   * A peer just subscribed to the jobs topic (a tab that joined): announce
   * now rather than at the next interval, so it can help with a job that may
   * be over in a few seconds. Joins arriving together share one announcement.
   */
  private onSubscription (evt: CustomEvent<SubscriptionChangeData>): void {
    const subscribed = (topic: string): boolean => evt.detail.subscriptions.some(s => s.topic === topic && s.subscribe)
    if (this.announceSoon === undefined && subscribed(TOPIC_JOBS)) {
      this.announceSoon = setTimeout(() => { this.announceSoon = undefined; void this.announce() }, ANNOUNCE_ON_JOIN_MS)
    }
    // A peer (re)joined the log topic: it may have missed receipts (we reloaded, it
    // joined mid-job, a short disconnect). Our latest head tells it how far our log goes.
    if (this.headSoon === undefined && subscribed(TOPIC_LOG)) {
      this.headSoon = setTimeout(() => { this.headSoon = undefined; this.announceHead() }, ANNOUNCE_ON_JOIN_MS)
    }
  }

  /** Publishes the latest signed head on the log topic, if this peer has a log. */
  private announceHead (): void {
    void this.servingHead().then(async serving => {
      if (serving === undefined) return
      this.announcedSize = serving.size
      this.announcedAt = this.now()
      await this.init.pubsub.publish(TOPIC_LOG, serving.head)
    }).catch(err => { this.log('announcing the tree head failed: %s', (err as Error).message) })
  }

  /**
   * The latest signed head and its size. After a reload none is in memory:
   * one is signed over the stored head's size (linked to it by an empty
   * consistency proof), never over verdicts not yet signed into a head.
   * (Whenever `lastHead` is set, `prevHead` is its claim.)
   */
  private async servingHead (): Promise<{ head: Uint8Array, size: number } | undefined> {
    if (this.lastHead !== undefined && this.prevHead !== null) return { head: this.lastHead, size: this.prevHead.size }
    return await this.inOrder(async () => {
      if (this.prevHead === null) return undefined
      if (this.lastHead === undefined) {
        try {
          this.lastHead = await sealTreeHeadAsync(this.init.identity, this.merkle, this.seq.next('tree-head'), this.prevHead, this.prevHead.size)
        } catch (err) {
          this.log.error('the stored log does not match its stored head: %s', (err as Error).message)
          return undefined
        }
      }
      return { head: this.lastHead, size: this.prevHead.size }
    })
  }

  /**
   * After a reload this tab's ledger has none of its own log: it counted the
   * receipts it issued, and nobody gossips them back to it. Receipts for the
   * stored log under the serving head are signed again for it (native
   * Ed25519, a batch at a time, the thread yielded between batches), not
   * published. Verdicts not under that head get theirs with the next head.
   */
  private async creditOwnLog (): Promise<void> {
    const serving = await this.servingHead()
    if (serving === undefined) return
    for (let from = 0; from < serving.size && !this.stopped; from += OWN_RECEIPTS_BATCH) {
      const leaves = Array.from({ length: Math.min(OWN_RECEIPTS_BATCH, serving.size - from) }, (_, i) => from + i)
      const settled = await Promise.allSettled(leaves.map(leaf =>
        issueReceiptAsync(this.init.identity, this.merkle, this.leaves[leaf]!, leaf, serving.head, this.seq.next('receipt'))))
      for (const r of settled) {
        if (r.status === 'fulfilled') this.init.ledger.addVerified(r.value.verified)
        else this.log.error('sealing a receipt of the stored log failed: %s', (r.reason as Error).message)
      }
      await new Promise(resolve => setTimeout(resolve, 0))
    }
  }

  /** The first `max` leaves from `from` on whose verdict credits `key` (public key hex), ascending. */
  private async creditedLeaves (key: string, from: number, max: number): Promise<number[]> {
    const leaves = (this.credits ?? await this.creditIndex()).get(key) ?? []
    const first = firstAfter(leaves, from - 1)
    return leaves.slice(first, first + max)
  }

  /** Makes {@link credits} from the log, a slice at a time (verdicts appended meanwhile are read too, in order). */
  private async creditIndex (): Promise<Map<string, number[]>> {
    this.creditsMade ??= (async () => {
      const index = new Map<string, number[]>()
      for (let leaf = 0; leaf < this.leaves.length;) {
        for (const end = Math.min(this.leaves.length, leaf + CREDIT_INDEX_SLICE); leaf < end; leaf++) addCredits(index, leaf, this.leaves[leaf]!)
        if (leaf < this.leaves.length) await new Promise(resolve => setTimeout(resolve, 0))
      }
      // Set in the same turn as the last slice: from now on appends add to it.
      this.credits = index
      return index
    })()
    return await this.creditsMade
  }

  /** Receipts for a catch-up request: each asked leaf under the latest signed head, proven against it. */
  private async receiptsFor (indices: number[]): Promise<Uint8Array[]> {
    const serving = await this.servingHead()
    if (serving === undefined) return []
    if (this.servedHead !== serving.head) { this.served.clear(); this.servedHead = serving.head }
    // Ascending: the first beyond the head ends the list.
    const under = indices.findIndex(index => index >= serving.size)
    return await Promise.all(indices.slice(0, under === -1 ? indices.length : under).map(async index => {
      const kept = this.served.get(index)
      if (kept !== undefined) return kept
      const receipt = (await issueReceiptAsync(this.init.identity, this.merkle, this.leaves[index]!, index, serving.head, this.seq.next('receipt'))).bytes
      if (this.servedHead === serving.head) {
        if (this.served.size >= SERVED_RECEIPTS_KEPT) this.served.clear()
        this.served.set(index, receipt)
      }
      return receipt
    }))
  }

  private onLost (evt: CustomEvent<{ peerId: string }>): void {
    this.handle(this.scheduler.removePeer(evt.detail.peerId))
  }

  /** Answers one pull: takes in results, hands out new shards. Never throws. */
  private async onPull (peer: PeerId, request: PullRequest): Promise<PullReply> {
    const jobId = toHex(request.job)
    const job = this.jobs.get(jobId)
    // Not "done": the job may just not be restored yet (a reload); the volunteer retries later.
    if (job === undefined) { this.log('%s pulled unknown job %s', peer, jobId); return refusal('unknown job') }
    if (this.broken !== undefined) return refusal(`the requester cannot take results: ${this.broken}`)
    const from = peer.toString()
    const key = publicKeyOf(from)
    if (key === undefined) return refusal('only Ed25519 peers can volunteer')
    // Attestations opened with their signatures on native Ed25519, and output hashes natively too
    // (on this thread, noble's sha256 cost ~2.5 ms per 256-image shard).
    const [attestations, outputHashes] = await Promise.all([
      Promise.all(request.results.map(async r => r.attestation === null ? undefined : await openAsync(r.attestation, { kinds: ['attestation'] }))),
      Promise.all(request.results.map(async r => r.output === null ? undefined : await sha256Async(r.output)))
    ])
    const received: number[] = []
    for (const [i, result] of request.results.entries()) {
      const lease = job.leases.get(result.lease)
      if (lease === undefined || lease.peer !== from) continue // expired and reassigned, or not theirs
      received.push(result.lease)
      job.leases.delete(result.lease)
      this.handle(this.takeResult(job, lease.shard, from, key, result, outputHashes[i], attestations[i]))
    }
    const cancel = this.cancels.get(from) ?? []
    this.cancels.delete(from)
    // Done by the scheduler's count: its status follows once its last verdicts are in the log.
    if (job.stored.status !== 'running' || this.scheduler.progress(jobId)?.done === true) {
      this.log('%s pulled finished job %s', from, jobId)
      return { assignments: [], received, cancel, waitMs: 0, done: true, error: null }
    }
    const assignments: PullReply['assignments'] = []
    // Lease only what one reply carries (about WORK_REPLY_TARGET_BYTES of inputs, at least one shard).
    const capacity = Math.min(request.capacity, Math.max(1, Math.floor(WORK_REPLY_TARGET_BYTES / job.largestShard)))
    // The volunteer chose the job (oldest first, and it leaves a job with nothing for it).
    const leased = this.scheduler.pull(from, capacity, this.now(), { jobId })
    const inputs = leased.length === 0 ? [] : await this.init.store.inputs(jobId, leased.map(a => a.shard))
    leased.forEach((a, i) => {
      const input = inputs[i]
      if (input === undefined) {
        this.log.error('input of shard %d of %s is missing from storage', a.shard, jobId)
        this.handle(this.scheduler.fail(a.leaseId, from, 'input missing from the requester\'s storage'))
        return
      }
      job.leases.set(a.leaseId, { shard: a.shard, peer: from, since: this.now() })
      assignments.push({ lease: a.leaseId, shard: a.shard, input })
    })
    this.update(jobId)
    return { assignments, received, cancel, waitMs: assignments.length === 0 ? WORK_IDLE_WAIT_MS : 0, done: false, error: null }
  }

  /**
   * Checks one result and hands it to the scheduler: `outputHash` is its
   * output's hash and `att` its attestation opened (both undefined when it has none).
   */
  private takeResult (job: RunningJob, shard: number, peer: string, key: Uint8Array, result: ShardResult, outputHash: Uint8Array | undefined, att: OpenResult | undefined): SchedulerEvent[] {
    const leaseId = result.lease
    if (result.error !== null || result.output === null || outputHash === undefined || att === undefined) {
      const error = result.error ?? 'no output'
      this.log('%s could not compute shard %d: %s', peer, shard, error)
      return this.scheduler.fail(leaseId, peer, error)
    }
    const decoded = decodeTensors(result.output, { maxBytes: WORK_MAX_OUTPUT_BYTES })
    if (!decoded.ok) return this.refuseResult(leaseId, peer, shard, `undecodable output: ${decoded.reason}`)
    if (!att.ok) return this.refuseResult(leaseId, peer, shard, `attestation refused: ${att.error.message}`)
    const signed = att.envelope as Envelope<'attestation'>
    const ref = job.manifest.body.shards[shard]!
    const holds: Array<[boolean, string]> = [
      [bytesEqual(signed.signer, key), 'attestation signed by someone else'],
      [bytesEqual(signed.body.jobId, job.manifest.id), 'attestation names another job'],
      [signed.body.shard === shard, 'attestation names another shard'],
      [bytesEqual(signed.body.inputHash, ref.inputHash), 'attestation names another input'],
      [bytesEqual(signed.body.outputHash, outputHash), 'attestation names another output']
    ]
    const problem = holds.find(([ok]) => !ok)?.[1]
    if (problem !== undefined) return this.refuseResult(leaseId, peer, shard, problem)
    const hash = toHex(outputHash)
    const ms = signed.body.ms
    const candidates = job.candidates.get(shard) ?? new Map<string, Uint8Array>()
    candidates.set(hash, result.output)
    job.candidates.set(shard, candidates)
    const answers = job.answers.get(shard) ?? []
    answers.push({ peer, outputHash: hash, at: this.now(), canary: job.canaries.has(shard), ms })
    job.answers.set(shard, answers)
    return this.scheduler.complete(leaseId, peer, { outputHash: hash, output: decoded.tensors })
  }

  /** A result that does not hold up: the lease fails, saying why. */
  private refuseResult (leaseId: number, peer: string, shard: number, problem: string): SchedulerEvent[] {
    this.log('%s: %s (shard %d)', peer, problem, shard)
    return this.scheduler.fail(leaseId, peer, problem)
  }

  private handle (events: SchedulerEvent[]): void {
    // Failures are stored one write per job, and each job's page told once: a job
    // reaching its deadline fails all its undecided shards in one call.
    const failures = new Map<string, StoredFailure[]>()
    const storeFailures = (jobId: string): void => {
      const list = failures.get(jobId)
      failures.delete(jobId)
      if (list !== undefined) this.persist(async () => { await this.init.store.addFailures(jobId, list) }, jobId)
    }
    const updated = new Set<string>()
    for (const e of events) {
      this.log.trace('scheduler: %o', e)
      const job = 'jobId' in e ? this.jobs.get(e.jobId) : undefined
      switch (e.type) {
        case 'shard:accepted':
          if (job !== undefined) {
            this.accept(job, e.shard, e.outputHash, e.credited, e.rejected, e.revision)
            // Outvoted: answered something else than what was accepted (not merely uncounted, e.g. gone before vetting).
            for (const a of job.answers.get(e.shard) ?? []) if (e.rejected.includes(a.peer) && a.outputHash !== e.outputHash) this.init.penalties?.outvoted(a.peer)
          }
          break
        case 'shard:reverify':
          if (job !== undefined) this.reopen(job, e.shard, { revision: e.revision, peer: e.peer })
          this.log('shard %d of %s is re-verified: %s was caught lying elsewhere', e.shard, e.jobId, e.peer)
          break
        case 'shard:failed':
          if (job !== undefined) {
            job.failed.set(e.shard, e.failure)
            const list = failures.get(e.jobId) ?? []
            list.push({ shard: e.shard, failure: e.failure })
            failures.set(e.jobId, list)
          }
          this.log('shard %d of %s failed: %s', e.shard, e.jobId, describeFailure(e.failure))
          break
        case 'peer:faulty':
          job?.faulty.add(e.peer)
          this.init.penalties?.fault(e.peer, 'failed-canary')
          this.rememberFaulty({ peer: e.peer, jobId: e.jobId, shard: e.shard, at: this.now() })
          this.log('%s failed a canary: marked faulty', e.peer)
          break
        case 'lease:cancelled':
        case 'lease:expired':
          job?.leases.delete(e.leaseId)
          if (e.type === 'lease:cancelled') this.cancels.set(e.peer, [...(this.cancels.get(e.peer) ?? []), e.leaseId].slice(-256))
          break
        case 'job:done':
          this.log('job %s done: %o', e.jobId, this.scheduler.progress(e.jobId))
          // Its failures are stored before its status says it is over.
          storeFailures(e.jobId)
          if (job !== undefined) this.finish(job)
          break
        default:
          break
      }
      if (job !== undefined) updated.add(job.stored.jobId)
    }
    for (const jobId of [...failures.keys()]) storeFailures(jobId)
    for (const jobId of updated) this.update(jobId)
  }

  /**
   * Signs the verdict (now, on native Ed25519, while earlier steps finish),
   * then, in the scheduler's order, appends it to the log and persists it with the output.
   */
  private accept (job: RunningJob, shard: number, outputHash: string, credited: string[], rejected: string[], revision: number): void {
    const output = job.candidates.get(shard)?.get(outputHash)
    if (output === undefined) { this.log.error('accepted output of shard %d is not held', shard); return }
    job.candidates.delete(shard)
    job.signing++
    const keys = (ids: string[]): Uint8Array[] => ids.map(id => publicKeyOf(id)).filter((k): k is Uint8Array => k !== undefined)
    const sealing = sealAsync('verdict', {
      jobId: job.manifest.id, shard, outputHash: fromHex(outputHash), credited: keys(credited), rejected: keys(rejected)
    }, this.init.identity, this.seq.next('verdict'))
    sealing.catch(() => {}) // its failure is the step's
    void this.inOrder(async () => {
      const verdict = await sealing
      job.signing--
      const leaf = this.merkle.append(verdict)
      this.leaves.push(verdict)
      if (this.credits !== undefined) addCredits(this.credits, leaf, verdict)
      const stored: StoredOutput = { output, outputHash, leaf, credited, rejected, revision }
      job.outputs.set(shard, stored)
      job.unsaved.set(shard, (job.unsaved.get(shard) ?? 0) + 1)
      noteVerified(job, this.now())
      this.record({ kind: 'verdict', jobId: job.stored.jobId, shard, leaf, verdict, output: stored })
      this.update(job.stored.jobId)
    }, job.stored.jobId)
  }

  /**
   * Takes an accepted output back for re-verification. Its verdict stands in
   * the log until a new one supersedes it (the ledger counts the latest);
   * meanwhile the job page and exports must not present it as verified, and
   * the mark is stored, so a reload does not bring the old answer back as
   * accepted. A finished job runs again until the shard is decided.
   */
  private reopen (job: RunningJob, shard: number, reverify: { revision: number, peer: string }): void {
    // After the step that accepted it.
    void this.inOrder(() => {
      const accepted = job.outputs.get(shard)
      job.outputs.delete(shard)
      if (accepted !== undefined) this.record({ kind: 'reopen', jobId: job.stored.jobId, shard, output: { ...accepted, reverify } })
      this.rerun(job)
      this.update(job.stored.jobId)
    }, job.stored.jobId)
  }

  /** A finished job has shards to decide again: serve and announce it again. */
  private rerun (job: RunningJob): void {
    if (job.stored.status !== 'done') return
    job.stored = { ...job.stored, status: 'running' }
    this.persist(async () => { await this.init.store.setStatus(job.stored.jobId, 'running') }, job.stored.jobId)
    // Volunteers that were told it was done take it up again when it is announced.
    void this.announce()
  }

  /**
   * Queues a decision for storage. Only a verdict that is safely stored may
   * be signed into a head and published: after a reload the log is rebuilt
   * from storage, and a published leaf missing from it would be reused (a
   * fork). Decisions taken while a write is under way go together, in
   * order, in the next one.
   */
  private record (decision: StoredDecision): void {
    this.unstored.push(decision)
    if (this.unstored.length > 1) return
    this.persist(async () => {
      const batch = this.unstored.splice(0)
      await this.init.store.putDecisions(batch)
      const saved = new Set<string>()
      for (const d of batch) {
        if (d.kind !== 'verdict') continue
        this.unsigned.push(d.leaf)
        this.storedSize = Math.max(this.storedSize, d.leaf + 1)
        const job = this.jobs.get(d.jobId)
        const left = (job?.unsaved.get(d.shard) ?? 0) - 1
        if (left > 0) job!.unsaved.set(d.shard, left)
        else job?.unsaved.delete(d.shard)
        saved.add(d.jobId)
      }
      // Now shown as verified (and a job whose last ones these were, as done).
      for (const jobId of saved) this.update(jobId)
      if (this.unsigned.length > 0) this.headTimer ??= setTimeout(() => { this.headTimer = undefined; this.signHead() }, HEAD_BATCH_MS)
    }, decision.jobId)
  }

  /** One signed tree head over every stored verdict, and a receipt per new verdict. */
  private signHead (): void {
    void this.inOrder(async () => { await this.signHeadNow() })
  }

  /** {@link signHead}, inside a step. */
  private async signHeadNow (): Promise<void> {
    if (this.unsigned.length === 0) return
    if (this.init.pubsub.getSubscribers(TOPIC_LOG).length === 0) {
      // Nobody would hear the receipts (e.g. just after a reload): wait for the mesh.
      this.headTimer ??= setTimeout(() => { this.headTimer = undefined; this.signHead() }, 1_000)
      return
    }
    const head = await this.sealHead()
    // One per verdict, signed together, then taken and published in log order.
    const receipts = this.unsigned.splice(0).map(leaf => issueReceiptAsync(this.init.identity, this.merkle, this.leaves[leaf]!, leaf, head, this.seq.next('receipt')))
    void Promise.allSettled(receipts).then(settled => {
      for (const r of settled) {
        if (r.status === 'rejected') { this.log.error('sealing a receipt failed: %s', (r.reason as Error).message); continue }
        this.init.ledger.addVerified(r.value.verified)
        void this.init.pubsub.publish(TOPIC_LOG, r.value.bytes).catch(err => { this.log('publishing a receipt failed: %s', (err as Error).message) })
      }
    })
  }

  /**
   * Inside a step: signs a head over every stored verdict, linked to the
   * head before, and stores its claim. Only a stored verdict may be under a
   * published head: after a reload the log is rebuilt from storage, and a
   * published leaf missing from it would be reused (a fork).
   */
  private async sealHead (): Promise<Uint8Array> {
    const size = this.storedSize
    const head = await sealTreeHeadAsync(this.init.identity, this.merkle, this.seq.next('tree-head'), this.prevHead, size)
    const claim: HeadClaim = { size, root: this.merkle.root(size) }
    this.lastHead = head
    this.prevHead = claim
    this.persist(async () => { await this.init.store.setKv('requester:head', claim) })
    return head
  }

  /** Stores a peer caught failing a canary, so a reload does not trust it again. */
  private rememberFaulty (f: FaultyPeer): void {
    this.faultyPeers.set(f.peer, f)
    const all = [...this.faultyPeers.values()]
    this.persist(async () => { await this.init.store.setKv(FAULTY_KEY, all) }, f.jobId)
  }

  /**
   * Marks a job done, after the steps that put its last verdicts in the log:
   * not if it was cancelled or reopened meanwhile, nor once the requester
   * stopped (a verdict may be missing: after a reload the job runs again).
   */
  private finish (job: RunningJob): void {
    const jobId = job.stored.jobId
    void this.inOrder(() => {
      if (job.stored.status !== 'running' || this.broken !== undefined || this.scheduler.progress(jobId)?.done !== true) return
      job.stored = { ...job.stored, status: 'done' }
      this.persist(async () => { await this.init.store.setStatus(jobId, 'done') }, jobId)
      this.update(jobId)
    }, jobId)
  }

  /**
   * Runs `step` after every step queued before it. Every change to the log
   * (a verdict appended, a head signed) and every decision that must come
   * after one (a reopen, a job's end) goes through here: signatures are
   * asynchronous (native Ed25519, with a key this page cannot read), and the
   * log must keep the order the scheduler decided in. A step that throws
   * stops the requester, as a failed write does.
   * @returns what the step returned, or undefined if it threw.
   */
  private async inOrder<T> (step: () => T | Promise<T>, jobId?: string): Promise<T | undefined> {
    const run = this.decided.then(step).catch(err => { this.halt(err, jobId); return undefined })
    this.decided = run.then(() => {})
    return await run
  }

  /** Chains a write after the previous ones; a failure is reported on the job, never swallowed. */
  private persist (write: () => Promise<void>, jobId?: string): void {
    // A failed write leaves the log in memory ahead of the stored one: stop
    // deciding, so nothing is published that a reload could not reproduce.
    this.writes = this.writes.then(write).catch(err => { this.halt(err, jobId) })
  }

  /** A write or a signature failed: no more work is handed out or taken in; the job's page says why. */
  private halt (err: unknown, jobId?: string): void {
    this.log.error('the requester stopped: %s', (err as Error)?.message ?? String(err))
    const error = errorInfo(err)
    this.broken = errorLine(error)
    if (jobId !== undefined) this.safeDispatchEvent('job:error', { detail: { jobId, error } })
  }

  private update (jobId: string): void {
    this.safeDispatchEvent('job:update', { detail: jobId })
  }
}

/** {@link JobStatus}: the stored status, held back while verdicts decided before it are still being signed or written. */
function shownStatus (job: RunningJob): JobStatus {
  if (job.signing === 0 && job.unsaved.size === 0) return job.stored.status
  return job.stored.status === 'done' ? 'running' : job.stored.status === 'cancelled' ? 'cancelling' : job.stored.status
}

/** Shards at work: leased to a volunteer, or accepted with their write still under way (shown as verified once stored). */
function busyShards (job: RunningJob): Set<number> {
  return new Set([...job.leases.values()].map(l => l.shard).concat([...job.unsaved.keys()]))
}

/** A shard's accepted output once it is stored: what the job page, results and exports show. */
function storedOutput (job: RunningJob, shard: number): StoredOutput | undefined {
  return job.unsaved.has(shard) ? undefined : job.outputs.get(shard)
}

/** A job's stored failures; entries of another shape or out of range (a damaged profile) are skipped. */
function storedFailures (value: unknown, shards: number): StoredFailure[] {
  if (!Array.isArray(value)) return []
  return value.filter((f): f is StoredFailure => {
    if (typeof f !== 'object' || f === null || !Number.isInteger(f.shard) || f.shard < 0 || f.shard >= shards) return false
    const failure = (f as { failure?: unknown }).failure as Partial<Record<string, unknown>> | null | undefined
    if (typeof failure !== 'object' || failure === null) return false
    switch (failure.kind) {
      case 'no-quorum': return Number.isInteger(failure.replicas)
      case 'given-up': return Number.isInteger(failure.times) && typeof failure.error === 'string'
      case 'deadline': return typeof failure.at === 'number'
      default: return false
    }
  })
}

/** The faulty peers stored by {@link Requester.rememberFaulty}; entries of another shape (a damaged or older profile) are skipped. */
function storedFaulty (value: unknown): FaultyPeer[] {
  if (!Array.isArray(value)) return []
  return value.filter((f): f is FaultyPeer => typeof f === 'object' && f !== null &&
    typeof f.peer === 'string' && typeof f.jobId === 'string' && Number.isInteger(f.shard) && typeof f.at === 'number').slice(-FAULTY_KEPT)
}
