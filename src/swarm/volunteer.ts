/**
 * The volunteer runtime (DESIGN.md "Data flow of one job", steps 2–4 and 6):
 * learns jobs from `essaim/jobs/1`, picks one whose model it can run, loads
 * the model (cache → peers → origin, hash-checked), then pulls shards from
 * the requester over `/essaim/work/1`, computes them in the worker, signs an
 * attestation per result and hands results in on its next pull. It keeps
 * shards in the worker and in reserve (src/swarm/pull-pace.ts), so a busy
 * volunteer waits for the network as little as possible. Receipts naming it
 * are kept in IndexedDB.
 *
 * Nothing computes unless the power gate allows it (consent, charging,
 * visibility, one tab per profile); after each shard it rests as long as
 * the duty cycle asks.
 *
 * A job whose model is not in the catalog (a requester's own .onnx) is run
 * like the Models page runs one, when the user allows it (Settings): bytes
 * from the requester or peers advertising the hash, sha256-checked and
 * size-capped (src/compute/foreign-model.ts). A model that cannot be loaded
 * (too large, not ONNX, an operator the runtime lacks, out of memory) is
 * refused for the session: every job using it is skipped with the reason.
 */
import { TypedEventEmitter } from 'main-event'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Logger } from '@libp2p/interface'
import { sealAsync, type Envelope } from '../core/envelope.ts'
import { bytesEqual, sha256Async, toHex } from '../core/bytes.ts'
import { largestShardBytes } from '../core/schemas.ts'
import { errorInfo, errorLine, type ErrorInfo } from '../core/errors.ts'
import { ReplayWindow } from '../core/replay.ts'
import type { Ledger } from '../core/ledger.ts'
import { signedTopic, type SignedTopic } from '../net/signed-topic.ts'
import { peerIdOf } from '../net/peer-keys.ts'
import { isDirectWebRTC } from '../net/mesh.ts'
import { sleep } from '../net/deadline.ts'
import type { Assignment, PullReply, ShardResult } from '../net/protocols/work.ts'
import {
  GOSSIP_MAX_FUTURE_MS, JOB_MAX_AGE_MS, LOG_MAX_AGE_MS, TOPIC_ATTEST, TOPIC_JOBS, TOPIC_LOG, WORK_MAX_BATCH, WORK_MAX_OUTPUT_BYTES
} from '../net/constants.ts'
import type { Catalog, CatalogModel } from '../compute/catalog.ts'
import type { ModelProgress, ModelSource, ModelSourceKind } from '../compute/model-source.ts'
import type { ComputeClient } from '../compute/client.ts'
import type { ShardSamples } from '../compute/shard-samples.ts'
import type { JobStore } from '../store/job-store.ts'
import type { StoredReceipt } from '../store/db.ts'
import type { Peer } from './peer.ts'
import { Sequencer } from './sequencer.ts'
import { GROUPS_IN_FLIGHT, PULLS_IN_FLIGHT, PULL_TARGET_BYTES, PullPace } from './pull-pace.ts'
import { nextJob, WORK_SLICE_MS } from './fair-share.ts'

/** What the volunteer needs from the power gate (src/swarm/power-gate.ts). */
export interface ComputeGate {
  /** Whether compute is allowed right now. */
  readonly state: { readonly compute: boolean }
  waitUntilAllowed: (options?: { signal?: AbortSignal }) => Promise<void>
  restAfter: (ms: number) => number
}

/*
 * Reasons and steps the user sees are codes with parameters, never words:
 * the UI says each in the user's language (src/ui/reasons.ts). Each list of
 * codes is the source of its type, so a test can hold the UI to wording
 * every code.
 */

/** Every {@link IdleReason} code. */
export const IDLE_CODES = ['paused', 'no-job', 'all-finished', 'out-of-reach', 'no-shard', 'retrying', 'unsupported', 'worker-failed'] as const

/** Why the volunteer is waiting; 'worker-failed': the compute worker is gone for this session (a reload starts a new one). */
export type IdleReason =
  | { code: Exclude<typeof IDLE_CODES[number], 'unsupported' | 'worker-failed'> }
  | { code: 'unsupported', why: Unsupported }
  | { code: 'worker-failed', error: ErrorInfo }

/** Every {@link Unsupported} code. */
export const UNSUPPORTED_CODES = ['refused', 'foreign-off'] as const

/** Why this peer will not run a job's model: its load failed for good (with the error), or models outside the catalog are turned off. */
export type Unsupported =
  | { code: typeof UNSUPPORTED_CODES[0], model: string, error: ErrorInfo }
  | { code: typeof UNSUPPORTED_CODES[1], model: string }

/** Every {@link VolunteerProblem} code. */
export const PROBLEM_CODES = ['failed', 'receipt-not-stored', 'model-refused'] as const

/** The last thing that went wrong: work that failed, a receipt the store refused, or a model refused (named). */
export type VolunteerProblem =
  | { code: typeof PROBLEM_CODES[0] | typeof PROBLEM_CODES[1], error: ErrorInfo }
  | { code: typeof PROBLEM_CODES[2], model: string, error: ErrorInfo }

/** Every {@link LoadStep} code. */
export const LOAD_CODES = ['fetching', 'download', 'starting'] as const

/** Where loading a model is: fetching its bytes (with progress once a source answers), then starting the runtime. */
export type LoadStep =
  | { code: typeof LOAD_CODES[0] | typeof LOAD_CODES[2] }
  | { code: typeof LOAD_CODES[1], source: ModelSourceKind, peer?: string, percent: number }

export type VolunteerStatus =
  | { kind: 'stopped' }
  | { kind: 'waiting', reason: IdleReason }
  | { kind: 'loading-model', model: string, step: LoadStep }
  | { kind: 'computing', jobId: string, model: string }

export interface KnownJob {
  jobId: string
  requester: string
  manifest: Envelope<'job'>
  model: CatalogModel | undefined
  /** The model is not in the catalog: a requester's own, run only if the user allows it. */
  foreign: boolean
  done: boolean
  /** Don't try this job again before this time (after an error, or when it had no shard for us). */
  retryAt: number
  /** Why `retryAt` was set. */
  waitingFor?: 'error' | 'shards'
  /** When we last started a time slice on this job (0: never); fair-share.ts. */
  servedAt: number
  /** The manifest's signed time. */
  postedAt: number
  /**
   * Results computed but not yet known to have reached the requester: kept
   * across a failed exchange and handed in on the next try (dropping them
   * left their leases to expire and the shards to be computed again).
   */
  unsent: ShardResult[]
}

/** A shard this peer computed; `samples` is what it held (images, lines, audio windows) when the model's unit is known. */
export interface ShardDone { jobId: string, shard: number, ms: number, at: number, model: string, samples?: ShardSamples }

/** A model outside the catalog this peer fetched for a job, and where from. */
export interface ForeignModel { id: string, sha256: string, bytes: number, source: ModelSource, at: number, cached: boolean }

/** What running a shard needs to know about its model, catalog or not. */
type ShardModel = Pick<CatalogModel, 'id' | 'sha256' | 'processing' | 'batchable'>

/** Compute failures after which the model is loaded again and the shard run once more. */
const RELOAD_ERRORS = new Set(['ModelNotLoadedError', 'WorkerFailedError'])

/** Load failures that will not go away by retrying: the model is refused for this session. */
const REFUSING_ERRORS = new Set(['ModelTooLargeError', 'ModelSizeMismatchError', 'UnsupportedModelError', 'OutOfMemoryError', 'ModelHashMismatchError'])

export interface VolunteerEvents {
  'volunteer:change': CustomEvent<void>
  /** A signed tree head was accepted (alone or in a receipt): `requester` (public key, hex) has a log of `size` leaves. */
  'log:head': CustomEvent<{ requester: string, size: number }>
}

export interface VolunteerInit {
  /** Its node (gossip, mesh, work), its key, and where model bytes come from. */
  peer: Pick<Peer, 'node' | 'identity' | 'loadModel' | 'loadForeignModel'>
  store: JobStore
  ledger: Ledger
  catalog: Catalog
  client: ComputeClient
  gate: ComputeGate
  log: Logger
  /** Run jobs whose model is not in the catalog (default true; see volunteer-settings.ts). */
  runForeignModels?: boolean
  now?: () => number
}

export class Volunteer extends TypedEventEmitter<VolunteerEvents> {
  readonly jobs = new Map<string, KnownJob>()
  readonly done: ShardDone[] = []
  /** Models outside the catalog fetched this session, by sha256. */
  readonly foreignModels = new Map<string, ForeignModel>()
  /** Models that failed to load for good this session, by sha256, with why. */
  readonly refusedModels = new Map<string, Unsupported & { code: 'refused' }>()
  runForeignModels: boolean
  status: VolunteerStatus = { kind: 'stopped' }
  lastError: VolunteerProblem | undefined
  private readonly seq: Sequencer
  private readonly now: () => number
  private readonly log: Logger
  private readonly loaded = new Set<string>()
  /**
   * Verdict leaf hash (hex) of every receipt crediting this peer that it
   * keeps: one per verdict, whatever head it is proven against. The receipts
   * themselves are in IndexedDB, not here: a long-running volunteer earns
   * hundreds of thousands (~1.5 KiB each), and this is ~0.1 KiB a receipt.
   */
  private readonly held = new Set<string>()
  /** Receipts kept but not (yet) stored, by leaf hash hex: waiting for their turn's write, or whose write failed. Exports include them. */
  private readonly unstored = new Map<string, StoredReceipt>()
  /** Receipts waiting for the end of this turn to be stored together (storeReceipt). */
  private receiptBatch: { entries: Array<[string, StoredReceipt]>, written: Promise<void> } | undefined
  private topics: SignedTopic[] = []
  private attest?: SignedTopic
  private controller?: AbortController
  private running?: Promise<void>
  /** Ends the loop's idle wait early; set only while it waits. */
  private wake?: () => void
  /** Set once the worker's runtime has been started (or is starting) ahead of any job. */
  private runtimePrepared = false

  constructor (private readonly init: VolunteerInit) {
    super()
    this.onConnection = this.onConnection.bind(this)
    this.now = init.now ?? Date.now
    this.log = init.log
    this.seq = new Sequencer(this.now)
    this.runForeignModels = init.runForeignModels ?? true
  }

  /** The user changed "Run models that are not in the catalog". */
  setRunForeignModels (on: boolean): void {
    this.runForeignModels = on
    this.emitChange()
  }

  /** Why this peer will not work on `job` now, or undefined if it will. */
  unsupported (job: KnownJob): Unsupported | undefined {
    const model = job.manifest.body.model
    const refused = this.refusedModels.get(model.sha256)
    if (refused !== undefined) return refused
    if (job.foreign && !this.runForeignModels) return { code: 'foreign-off', model: model.id }
    return undefined
  }

  /** Listens to jobs and receipts (observing costs nothing; computing starts with {@link contribute}). */
  async start (): Promise<void> {
    for (const key of await this.init.store.receiptKeys()) this.held.add(key)
    const pubsub = this.init.peer.node.services.pubsub
    this.topics.push(signedTopic(pubsub, {
      topic: TOPIC_JOBS, kinds: ['job'], maxAgeMs: JOB_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS, log: this.log,
      onMessage: env => { this.onJob(env as Envelope<'job'>) }
    }))
    this.topics.push(signedTopic(pubsub, {
      topic: TOPIC_LOG, kinds: ['receipt', 'tree-head'], maxAgeMs: LOG_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS, log: this.log,
      onMessage: (env, bytes) => { if (env.kind === 'tree-head') this.onHead(env, bytes); else void this.takeReceipt(bytes, env) }
    }))
    this.attest = signedTopic(pubsub, {
      topic: TOPIC_ATTEST, kinds: ['attestation'], maxAgeMs: LOG_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS,
      replay: new ReplayWindow(), log: this.log, onMessage: () => {}
    })
    this.topics.push(this.attest)
    this.init.peer.node.addEventListener('connection:open', this.onConnection)
  }

  async stop (): Promise<void> {
    this.init.peer.node.removeEventListener('connection:open', this.onConnection)
    await this.pause()
    this.topics.forEach(t => { t.stop() })
    this.topics = []
  }

  /** Starts pulling and computing (the user pressed "Start contributing"). */
  contribute (): void {
    if (this.controller !== undefined) return
    const controller = new AbortController()
    this.controller = controller
    this.running = this.loop(controller.signal).catch(err => {
      if (!controller.signal.aborted) { this.lastError = { code: 'failed', error: errorInfo(err) }; this.log.error('volunteer loop failed: %s', describe(err)) }
    }).finally(() => { this.setStatus({ kind: 'stopped' }) })
  }

  /** Stops computing; shards in hand are abandoned (their leases expire and are reassigned). */
  async pause (): Promise<void> {
    this.controller?.abort(new Error('stopped by the user'))
    this.controller = undefined
    await this.running
  }

  get contributing (): boolean {
    return this.controller !== undefined
  }

  /** Credit from receipts this peer holds (one per verdict naming it). */
  get credit (): number {
    return this.held.size
  }

  /**
   * The receipts crediting this peer, oldest first, to export: those stored
   * and those not (yet), one per verdict.
   */
  async myReceipts (): Promise<Uint8Array[]> {
    const stored = await this.init.store.receipts()
    if (this.unstored.size === 0) return stored.map(([, r]) => r.receipt)
    // One written while we read is in both.
    const kept = stored.filter(([key]) => !this.unstored.has(key)).map(([, r]) => r)
    return [...kept, ...this.unstored.values()].sort((a, b) => a.receivedAt - b.receivedAt).map(r => r.receipt)
  }

  /** A new direct connection may be to a requester whose job we know but could not reach. */
  private onConnection (evt: CustomEvent<Connection>): void {
    if (isDirectWebRTC(evt.detail)) this.wake?.()
  }

  private onJob (env: Envelope<'job'>): void {
    const jobId = toHex(env.id)
    const known = this.jobs.get(jobId)
    if (known !== undefined) {
      // Requesters announce only running jobs: a job we thought finished is
      // running again (e.g. its requester reloaded and lost unsaved verdicts).
      if (known.done) { known.done = false; this.emitChange(); this.wake?.() }
      return
    }
    const requester = peerIdOf(env.signer)
    const model = this.init.catalog.models.find(m => m.sha256 === env.body.model.sha256)
    this.jobs.set(jobId, {
      jobId,
      requester,
      manifest: env,
      model,
      foreign: model === undefined,
      done: false,
      retryAt: 0,
      servedAt: 0,
      postedAt: env.ts,
      unsent: []
    })
    this.emitChange()
    this.wake?.()
  }

  /** A head announced on the log topic: a claim for the ledger, and maybe news that we are behind. */
  private onHead (head: Envelope<'tree-head'>, bytes: Uint8Array): void {
    const added = this.init.ledger.addTreeHead(bytes)
    if (!added.ok) { this.log('refused a tree head: %s', added.reason); return }
    this.safeDispatchEvent('log:head', { detail: { requester: toHex(head.signer), size: head.body.size } })
    if (added.added) this.emitChange()
  }

  /**
   * Takes a receipt, gossiped or caught up (src/swarm/log-catch-up.ts): into
   * the ledger, and kept if it credits this peer. Never throws.
   */
  async takeReceipt (bytes: Uint8Array, opened?: Envelope<'receipt'>): Promise<void> {
    const added = this.init.ledger.addReceipt(bytes, opened)
    if (!added.ok) { this.log('refused a receipt: %s', added.reason); return }
    // Valid, but past the public ledger's bound for its requester: ours is kept all the same.
    if (added.dropped !== undefined) this.log('the ledger did not keep a receipt: %s', added.dropped)
    this.safeDispatchEvent('log:head', { detail: { requester: toHex(added.receipt.requester), size: added.receipt.head.body.size } })
    const me = this.init.peer.identity.publicKey
    const verdict = added.receipt.verdict.body
    if (!verdict.credited.some(k => bytesEqual(k, me))) { this.emitChange(); return }
    const key = toHex(added.receipt.leaf)
    if (this.held.has(key)) return
    this.held.add(key)
    const stored: StoredReceipt = { receipt: bytes, requester: toHex(added.receipt.requester), jobId: toHex(verdict.jobId), shard: verdict.shard, receivedAt: this.now() }
    this.unstored.set(key, stored)
    this.emitChange()
    await this.storeReceipt(key, stored)
  }

  /**
   * Stores a receipt with the others that came in the same turn (a
   * requester gossips a batch of verdicts' receipts at once): one IndexedDB
   * transaction for them all, not one each. Resolves once it is stored (or
   * its failure shown). A receipt lost with the tab before then is not lost:
   * the requester's log still proves it (src/swarm/log-catch-up.ts).
   */
  private async storeReceipt (key: string, stored: StoredReceipt): Promise<void> {
    let batch = this.receiptBatch
    if (batch === undefined) {
      const entries: Array<[string, StoredReceipt]> = []
      const written = new Promise(resolve => setTimeout(resolve, 0)).then(async () => {
        this.receiptBatch = undefined
        await this.init.store.putReceipts(entries)
        for (const [storedKey] of entries) this.unstored.delete(storedKey)
      }).catch(err => {
        this.lastError = { code: 'receipt-not-stored', error: errorInfo(err) }
        this.emitChange()
      })
      batch = this.receiptBatch = { entries, written }
    }
    batch.entries.push([key, stored])
    await batch.written
  }

  /** The job to work on next among those open, supported and with a reachable requester, by fair share (fair-share.ts). */
  private pick (): KnownJob | undefined {
    return nextJob(this.jobs.values(), this.runnable())
  }

  /** Open, supported jobs whose requester we reach directly and may ask now; none once the compute worker is gone for good. */
  private runnable (): KnownJob[] {
    // A worker gone for good computes nothing: trying a job again would only fail to load its model, every few seconds.
    if (this.init.client.broken !== undefined) return []
    const connected = this.directPeers()
    const now = this.now()
    return [...this.jobs.values()].filter(j => !j.done && this.unsupported(j) === undefined && j.retryAt <= now && connected.has(j.requester))
  }

  /** Another open job we could work on (then this job's time slice ends). */
  private otherJobWaiting (job: KnownJob): boolean {
    return this.runnable().some(j => j !== job)
  }

  /** Peers we reach over a direct connection (work never runs through a relay). */
  private directPeers (): Set<string> {
    return new Set(this.init.peer.node.getConnections().filter(c => isDirectWebRTC(c) && c.status === 'open').map(c => c.remotePeer.toString()))
  }

  /** Why {@link pick} found nothing. */
  private whyIdle (): IdleReason {
    const broken = this.init.client.broken
    if (broken !== undefined) return { code: 'worker-failed', error: errorInfo(broken) }
    const jobs = [...this.jobs.values()]
    const open = jobs.filter(j => !j.done)
    if (open.length === 0) return { code: jobs.length === 0 ? 'no-job' : 'all-finished' }
    const runnable = open.filter(j => this.unsupported(j) === undefined)
    if (runnable.length === 0) return { code: 'unsupported', why: this.unsupported(open[0]!)! }
    const connected = this.directPeers()
    if (!runnable.some(j => connected.has(j.requester))) {
      // A requester we lost (e.g. it reloaded) may not dial us back: libp2p
      // does not announce a known peer again. Dial it ourselves.
      for (const j of runnable) this.init.peer.node.services.mesh.ensureDirect(peerIdFromString(j.requester), { evenIfNotDialer: true })
      return { code: 'out-of-reach' }
    }
    const now = this.now()
    if (runnable.some(j => connected.has(j.requester) && j.retryAt > now && j.waitingFor === 'shards')) return { code: 'no-shard' }
    return { code: 'retrying' }
  }

  private async loop (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.waitForGate(signal)
      this.prepareRuntime()
      const job = this.pick()
      if (job === undefined) {
        this.setStatus({ kind: 'waiting', reason: this.whyIdle() })
        // Woken early by a new job or a new direct connection (a requester we can now reach).
        await sleep(IDLE_WAIT_MS, signal, wake => { this.wake = wake })
        this.wake = undefined
        continue
      }
      try {
        await this.workOn(job, signal)
      } catch (err) {
        if (signal.aborted) return
        this.lastError = { code: 'failed', error: errorInfo(err) }
        this.log('work on %s stopped: %s', job.jobId, describe(err))
        job.retryAt = this.now() + 5_000
        job.waitingFor = 'error'
        this.emitChange()
      }
    }
  }

  /**
   * Loads the job's model into the worker (once). A load failure that
   * retrying cannot fix refuses the model for the session and returns false.
   */
  private async ensureModel (job: KnownJob, model: ShardModel, signal: AbortSignal): Promise<boolean> {
    if (this.loaded.has(model.sha256)) return true
    this.setStatus({ kind: 'loading-model', model: model.id, step: { code: 'fetching' } })
    const onProgress = (p: ModelProgress): void => {
      const percent = Math.round(100 * p.received / Math.max(1, p.total))
      this.setStatus({ kind: 'loading-model', model: model.id, step: { code: 'download', source: p.source, peer: p.peer, percent } })
    }
    try {
      let bytes: Uint8Array
      if (job.model !== undefined) {
        bytes = (await this.init.peer.loadModel(job.model, { signal, onProgress })).bytes
      } else {
        const loaded = await this.init.peer.loadForeignModel(job.manifest.body.model, { requester: job.requester, signal, onProgress })
        bytes = loaded.bytes
        this.foreignModels.set(model.sha256, { id: model.id, sha256: model.sha256, bytes: bytes.length, source: loaded.source, at: this.now(), cached: loaded.cacheError === undefined })
        this.log('model %s (%d bytes) from %o', model.id, bytes.length, loaded.source)
      }
      this.setStatus({ kind: 'loading-model', model: model.id, step: { code: 'starting' } })
      await this.init.client.load({ sha256: model.sha256, bytes }, { signal, batchable: model.batchable })
    } catch (err) {
      if (signal.aborted || !REFUSING_ERRORS.has((err as Error).name)) throw err
      const error = errorInfo(err)
      this.refusedModels.set(model.sha256, { code: 'refused', model: model.id, error })
      this.lastError = { code: 'model-refused', model: model.id, error }
      this.log('refusing model %s (%s): %s', model.sha256, model.id, describe(err))
      this.emitChange()
      return false
    }
    this.loaded.add(model.sha256)
    return true
  }

  private async workOn (job: KnownJob, signal: AbortSignal): Promise<void> {
    const ref = job.manifest.body.model
    const model: ShardModel = job.model ?? { id: ref.id, sha256: ref.sha256, processing: 'none', batchable: false }
    if (!await this.ensureModel(job, model, signal)) return
    const requester = peerIdFromString(job.requester)
    const queue: Assignment[] = []
    const results = job.unsent
    const perPull = Math.min(WORK_MAX_BATCH, Math.max(1, Math.floor(PULL_TARGET_BYTES / largestShardBytes(job.manifest.body))))
    const pace = new PullPace(model.batchable, perPull)
    const exchange = async (capacity: number): Promise<PullReply> => {
      const handedIn = takeResults(results)
      const started = performance.now()
      let reply: PullReply
      try {
        reply = await this.init.peer.node.services.work.pull(requester, {
          job: job.manifest.id, capacity, results: handedIn
        }, { signal })
      } catch (err) {
        // Not known to have arrived: hand them in again (the requester ignores a lease it already settled).
        results.unshift(...handedIn)
        throw err
      }
      pace.roundTrip(performance.now() - started)
      if (reply.error !== null) {
        this.log('requester %s: %s', job.requester, reply.error)
        if (reply.assignments.length === 0) throw new Error(`the requester refused: ${reply.error}`)
      }
      const cancelled = new Set(reply.cancel)
      for (let i = queue.length - 1; i >= 0; i--) if (cancelled.has(queue[i]!.lease)) queue.splice(i, 1)
      queue.push(...reply.assignments)
      if (reply.done) { this.log('requester %s says job %s is done', job.requester, job.jobId); job.done = true; this.emitChange() }
      return reply
    }
    // Groups of shards in the worker, and exchanges with the requester (each hands
    // in everything finished since the last and tops up what we hold): one at a
    // time, more while a whole pull's worth of room is left (PULLS_IN_FLIGHT).
    const groups = new Set<Promise<void>>()
    const pulls = new Set<Promise<void>>()
    /** Shards asked for by the exchanges in flight. */
    let asked = 0
    let failure: unknown
    let restUntil = 0
    /** No exchange starts before this (after a failed one, see PullPace.pullFailed). */
    let pullAt = 0
    let leave = false
    // The requester gave nothing while we held shards (its per-peer lease cap,
    // or no shard left to hand out): ask again only with results to hand in.
    let toppedOut = false
    const held = (): number => queue.length + groups.size * pace.groupSize
    const startGroup = (): void => {
      const batch = queue.splice(0, pace.groupSize)
      const group: Promise<void> = Promise.all(batch.map(async a => await this.compute(job, model, a, signal))).then(done => {
        for (const { result, busyMs } of done) { results.push(result); if (result.error === null) pace.computed(busyMs) }
        const rest = this.init.gate.restAfter(done.reduce((sum, d) => sum + d.busyMs, 0))
        if (rest > 0) restUntil = Math.max(restUntil, performance.now() + rest)
      }, err => { failure ??= err }).finally(() => { groups.delete(group); toppedOut = false })
      groups.add(group)
    }
    job.servedAt = this.now()
    const sliceEnds = performance.now() + WORK_SLICE_MS
    // Leaving: only hand in what is finished.
    const room = (): number => leave ? 0 : Math.min(perPull, Math.max(0, pace.hold - held() - asked))
    const startPull = (capacity: number): void => {
      // Shards held or asked for by another exchange count: an empty reply then only means "no more for now".
      const holding = held() + asked
      asked += capacity
      const p: Promise<void> = exchange(capacity).then(reply => {
        if (reply.assignments.length > 0 || reply.done || capacity === 0) return
        if (holding > 0) { toppedOut = true; return }
        if (held() === 0) {
          // Nothing for us here now (every open shard waits for another peer's
          // replica): leave, so that another open job can have us meanwhile.
          // Staying would deadlock two volunteers each waiting on the job the other holds.
          this.setStatus({ kind: 'waiting', reason: { code: 'no-shard' } })
          job.retryAt = this.now() + reply.waitMs
          job.waitingFor = 'shards'
          leave = true
        }
      }, err => {
        // With shards in hand this is only a missed top-up, tried again after a pause; with none,
        // or after a few failures in a row, the job cannot go on for now.
        const retryMs = pace.pullFailed()
        if (held() === 0 || retryMs === undefined) {
          failure ??= err
        } else {
          this.log('pull failed: %s; next in %d ms', describe(err), retryMs)
          pullAt = performance.now() + retryMs
        }
      }).finally(() => { asked -= capacity; pulls.delete(p) })
      pulls.add(p)
    }
    try {
      while (!signal.aborted && !job.done && !(leave && held() === 0 && pulls.size === 0)) {
        await this.waitForGate(signal)
        if (failure !== undefined) throw failure
        const now = performance.now()
        while (queue.length > 0 && groups.size < GROUPS_IN_FLIGHT && now >= restUntil) startGroup()
        if (groups.size > 0 && (this.status.kind !== 'computing' || this.status.jobId !== job.jobId)) this.setStatus({ kind: 'computing', jobId: job.jobId, model: model.id })
        // Our time slice is over and another job is waiting: finish what we hold, then go.
        if (!leave && now >= sliceEnds && this.otherJobWaiting(job)) leave = true
        // No exchange while pausing after a failed one.
        if (now >= pullAt && pulls.size === 0) {
          if (results.length > 0 || (!leave && (!toppedOut || held() === 0) && held() < pace.hold)) startPull(room())
        } else if (now >= pullAt) {
          while (pulls.size < PULLS_IN_FLIGHT && !toppedOut && room() >= perPull) startPull(room())
        }
        const waits: Array<Promise<unknown>> = [...groups, ...pulls]
        // An abort ends the loop through its condition; the sleeps' rejections need no listener.
        for (const wakeAt of [queue.length > 0 ? restUntil : 0, pullAt]) {
          if (wakeAt > now) waits.push(sleep(wakeAt - now, signal).catch(() => {}))
        }
        if (waits.length > 0) await Promise.race(waits)
      }
    } finally {
      await Promise.all([...groups, ...pulls])
    }
    if (failure !== undefined && !signal.aborted) throw failure
    // Hand in what is left (the job may be done, but the results still count).
    while (results.length > 0 && !signal.aborted) await exchange(0)
  }

  /**
   * Computes and attests one shard. `busyMs` is the worker time it took: its
   * share of each run (a batched run counts once for all the shards in it),
   * so it does not include waiting behind other shards.
   */
  private async compute (job: KnownJob, model: ShardModel, a: Assignment, signal: AbortSignal, reloaded = false): Promise<{ result: ShardResult, busyMs: number }> {
    const ref = job.manifest.body.shards[a.shard]
    const inputHash = await sha256Async(a.input)
    if (ref === undefined || !bytesEqual(inputHash, ref.inputHash)) {
      return { result: { lease: a.lease, output: null, attestation: null, error: 'the input does not match the manifest' }, busyMs: 0 }
    }
    let busyMs = 0
    try {
      const r = await this.init.client.runShard(model.sha256, model.processing, a.input, { signal })
      const output = r.output
      busyMs = r.busyMs
      if (output.length > WORK_MAX_OUTPUT_BYTES) throw new Error(`output of ${output.length} bytes is over the protocol's cap`)
      const attestation = await sealAsync('attestation', {
        jobId: job.manifest.id, shard: a.shard, inputHash, outputHash: await sha256Async(output),
        provider: r.provider, ortVersion: r.ortVersion.slice(0, 32) || 'unknown', threads: r.threads, ms: Math.round(busyMs)
      }, this.init.peer.identity, this.seq.next('attestation'))
      void this.attest?.publish(attestation).catch(() => {})
      this.done.push({ jobId: job.jobId, shard: a.shard, ms: busyMs, at: this.now(), model: model.id, samples: r.samples })
      if (this.done.length > 1_000) this.done.splice(0, this.done.length - 1_000)
      this.emitChange()
      return { result: { lease: a.lease, output, attestation, error: null }, busyMs }
    } catch (err) {
      if (signal.aborted) throw err
      // The worker keeps a few models and evicts the least recently used
      // (e.g. after a job with another model), and a worker that died is
      // replaced by a fresh one with none (compute/client.ts): load it again, once.
      if (RELOAD_ERRORS.has((err as Error).name) && !reloaded) {
        this.loaded.delete(model.sha256)
        if (await this.ensureModel(job, model, signal)) return await this.compute(job, model, a, signal, true)
      }
      this.lastError = { code: 'failed', error: errorInfo(err) }
      return { result: { lease: a.lease, output: null, attestation: null, error: describe(err).slice(0, 500) }, busyMs }
    }
  }

  /**
   * Once compute is allowed, starts the worker's runtime without waiting for
   * a job: compiling onnxruntime-web's WASM took seconds of a new volunteer's
   * first job (9.6 s for a tab joining four busy ones on two cores). Not
   * before: a phone on battery pays for nothing. Once per session; a failure
   * here is only logged: the first load tries again and reports it.
   */
  private prepareRuntime (): void {
    if (this.runtimePrepared) return
    this.runtimePrepared = true
    this.init.client.prepare().then(
      r => { this.log('runtime ready: %s, %d thread(s), %d ms', r.provider, r.threads, Math.round(r.ms)) },
      err => { this.log('preparing the runtime failed: %s', describe(err)) })
  }

  /**
   * Waits until the power gate allows compute, showing "paused" only while it
   * is shut (set before every look, it flickered into view once a second),
   * and what was shown before once it opens: the job in hand when the gate
   * shut mid-job. A volunteer that started paused has nothing to go back to
   * ("stopped" flashed up as the gate opened): the loop says what it does next.
   */
  private async waitForGate (signal: AbortSignal): Promise<void> {
    if (this.init.gate.state.compute) return
    const before = this.status
    this.setStatus({ kind: 'waiting', reason: { code: 'paused' } })
    await this.init.gate.waitUntilAllowed({ signal })
    if (before.kind !== 'stopped' && this.status.kind === 'waiting' && this.status.reason.code === 'paused') this.setStatus(before)
  }

  private setStatus (status: VolunteerStatus): void {
    this.status = status
    this.emitChange()
  }

  private emitChange (): void {
    this.safeDispatchEvent('volunteer:change')
  }
}

/** Results to hand in with one pull, under the request cap (at most two full-size outputs). */
function takeResults (results: ShardResult[]): ShardResult[] {
  const out: ShardResult[] = []
  let bytes = 0
  while (results.length > 0 && out.length < 8) {
    const size = results[0]!.output?.length ?? 0
    if (out.length > 0 && bytes + size > 2 * WORK_MAX_OUTPUT_BYTES - 64 * 1024) break
    bytes += size
    out.push(results.shift()!)
  }
  return out
}

function describe (err: unknown): string {
  return errorLine(errorInfo(err))
}

/** How long an idle volunteer waits before looking for work again, unless woken. */
const IDLE_WAIT_MS = 1_000
