/**
 * The requester side of OCR jobs (the stages are described in ocr-job.ts).
 * It watches this tab's detection jobs; once one is done it crops the lines
 * of every image from its own copy of the images and posts the recognition
 * job for them (with canaries it computes itself, as Submit does for stage 1).
 *
 * Stage 2 waits for the whole of stage 1, rather than starting per image as
 * maps are accepted: a volunteer stays on one job until that job is done, so
 * two open jobs of one requester can each wait for a replica from the
 * volunteer that is on the other one (each has answered its own shard and
 * gets nothing more there). One open job per OCR job cannot deadlock, and
 * loses little: volunteers take the oldest job first, so stage 2 shards
 * would mostly wait for stage 1 anyway. Both stages are ordinary jobs of the Requester, stored
 * and resumed by it; what is still to do is recomputed from what is stored
 * (an image in no recognition job cropped from its accepted map yet), so a
 * reload at any moment resumes without losing or repeating work. A
 * detection re-verified after stage 2 was posted and accepted with another
 * answer makes its image one of those again (ocr-job.ts).
 *
 * It also assembles the one view the Job page shows of an OCR job: progress
 * of both stages, every image's lines (decoded once per accepted output),
 * and the receipts of both stages in one bundle.
 */
import { TypedEventEmitter } from 'main-event'
import type { Logger } from '@libp2p/interface'
import { toHex, sha256 } from '../core/bytes.ts'
import { errorInfo, errorLine, type ErrorInfo } from '../core/errors.ts'
import type { ReceiptBundle } from '../core/receipt-bundle.ts'
import type { CompareRule, JobPolicy } from '../core/schemas.ts'
import type { ShardFailure } from '../core/scheduler-types.ts'
import type { Catalog, CatalogModel } from '../compute/catalog.ts'
import type { ComputeClient } from '../compute/client.ts'
import type { LoadedModel, ModelEntry } from '../compute/model-source.ts'
import { ocrCharacters } from '../compute/models/ocr.ts'
import { canaryShards } from './job-kinds.ts'
import { wasCancelled, type JobView, type Requester, type ShardView } from './requester.ts'
import {
  decodeOcrImage, imagesToRead, isOcrJobMeta, isOcrRecMeta, ocrResults, readLine, recJobBatches, recShards,
  type OcrCrop, type OcrImageResult, type OcrJobMeta, type OcrMapRef, type OcrRecMeta
} from './ocr-job.ts'

export interface OcrPipelineInit {
  requester: Requester
  catalog: Catalog
  /** Computes stage 2 canaries in this tab. */
  client: ComputeClient
  /** Verified model (and dictionary) bytes: cache → peers → origin (Peer.loadModel). */
  loadModel: (entry: ModelEntry, options?: { signal?: AbortSignal }) => Promise<LoadedModel>
  log: Logger
  /** Wait before retrying a stage 2 that failed to post (default 10 s). */
  retryMs?: number
  /** The title of a recognition job, in the requester's words (the UI's: src/ui/reasons.ts `readingTitle`). */
  readingTitle: (reading: ReadingTitle) => string
}

/** What a recognition job's title says: its OCR job's title, how many lines of how many images it reads, and whether it reads them again after a re-check. */
export interface ReadingTitle { job: string, lines: number, images: number, again: boolean }

/** Why stage 2 of an OCR job cannot go on for now (retried): posting it failed, the dictionary did not load, or the catalog lacks it. */
export type OcrProblem =
  | { code: typeof OCR_PROBLEM_CODES[0] | typeof OCR_PROBLEM_CODES[1], error: ErrorInfo }
  | { code: typeof OCR_PROBLEM_CODES[2] }

/** Every {@link OcrProblem} code. */
export const OCR_PROBLEM_CODES = ['post-failed', 'dictionary-failed', 'no-dictionary'] as const

export interface OcrPipelineEvents {
  /** Something about this OCR job (detection job id) changed beyond its jobs' own progress. */
  'ocr:update': CustomEvent<string>
}

export interface OcrStageView { verified: number, total: number, inFlight: number, failed: number }

export interface OcrJobView {
  /** The detection job's id: the OCR job's id. */
  jobId: string
  title: string
  createdAt: number
  /** 'cancelled' once either stage was cancelled (OcrPipeline.cancel); 'cancelling' while a stage's verdicts decided before are still written (JobStatus). */
  status: 'running' | 'done' | 'cancelling' | 'cancelled'
  detect: OcrStageView
  /** Stage 2 over every recognition job posted so far (`jobs`). */
  read: OcrStageView & { jobs: string[] }
  images: OcrImageResult[]
  /** Shards of either stage that failed, detection's first. */
  failures: OcrFailure[]
  /** The OCR job's deadline (ms): both stages end there. */
  deadline: number
  /** Why stage 2 could not be posted or decoded, while it is retried. */
  error?: OcrProblem
}

/** A failed shard of an OCR job: `stage` 0 is finding the lines, k ≥ 1 the k-th reading job; `file` is the image it came from. */
export interface OcrFailure { stage: number, shard: number, file: string, failure: ShardFailure }

export class OcrPipeline extends TypedEventEmitter<OcrPipelineEvents> {
  /** Detected images with no line, with the detection output found empty, by detection job (recomputed after a reload). */
  private readonly empty = new Map<string, Map<number, string>>()
  /** Decoded text of each accepted recognition output, by the output's bytes (held by the requester). */
  private readonly texts = new WeakMap<Uint8Array, { text: string, score: number }>()
  private readonly errors = new Map<string, OcrProblem>()
  private readonly dirty = new Set<string>()
  private readonly controller = new AbortController()
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>()
  /**
   * OCR jobs cancelled in this session: stage 2 is never posted for them, not
   * even one under way. (After a reload the stages' own status says it:
   * the detection job is cancelled even when it was done.)
   */
  private readonly cancelled = new Set<string>()
  private draining: Promise<void> | undefined
  private chars: string[] | undefined
  private charsLoading: Promise<void> | undefined
  private dictionaryError: OcrProblem | undefined
  private readonly log: Logger

  constructor (private readonly init: OcrPipelineInit) {
    super()
    this.log = init.log
    this.onUpdate = this.onUpdate.bind(this)
  }

  /** Picks up stored OCR jobs (call after the requester started) and follows new ones. */
  start (): void {
    this.init.requester.addEventListener('job:update', this.onUpdate)
    for (const job of this.init.requester.list()) if (isOcrJobMeta(job.meta)) this.kick(job.jobId)
  }

  stop (): void {
    this.init.requester.removeEventListener('job:update', this.onUpdate)
    this.controller.abort(new Error('stopped'))
    for (const t of this.retries.values()) clearTimeout(t)
    this.retries.clear()
  }

  /** The Job page's view of an OCR job, or undefined if `jobId` is not one of ours. */
  view (jobId: string): OcrJobView | undefined {
    const req = this.init.requester
    const det = req.view(jobId)
    if (det === undefined || !isOcrJobMeta(det.meta)) return undefined
    const failed = (shards: ShardView[]): Set<number> => new Set(shards.filter(s => s.status === 'failed').map(s => s.shard))
    const recViews = this.recJobs(jobId)
    if (recViews.length > 0 || det.verified > 0) this.loadDictionary()
    const detShards = req.shards(jobId)
    const images = ocrResults(det.meta, {
      detected: detectedMaps(detShards),
      detectFailed: failed(detShards),
      empty: this.empty.get(jobId) ?? new Map(),
      recs: recViews.map(v => ({ meta: v.meta as OcrRecMeta, outputs: req.results(v.jobId), failed: failed(req.shards(v.jobId)) }))
    }, output => this.read(output))
    const sum = (f: (v: JobView) => number): number => recViews.reduce((n, v) => n + f(v), 0)
    const error = this.errors.get(jobId) ?? this.dictionaryError
    const { images: files } = det.meta
    const file = (image: number | undefined): string => image === undefined ? '' : files[image]?.file ?? ''
    const failures: OcrFailure[] = [
      ...detShards.flatMap(s => s.failure === undefined ? [] : [{ stage: 0, shard: s.shard, file: file(s.shard), failure: s.failure }]),
      ...recViews.flatMap((v, k) => req.shards(v.jobId).flatMap(s => s.failure === undefined
        ? []
        : [{ stage: k + 1, shard: s.shard, file: file((v.meta as OcrRecMeta).crops[s.shard]?.image), failure: s.failure }]))
    ]
    return {
      jobId,
      title: det.title,
      createdAt: det.createdAt,
      status: this.isCancelled(det, recViews)
        ? ([det, ...recViews].some(v => v.status === 'cancelling') ? 'cancelling' : 'cancelled')
        : images.every(i => i.status === 'done' || i.status === 'failed') ? 'done' : 'running',
      detect: { verified: det.verified, total: det.shards, inFlight: det.inFlight, failed: det.failed },
      read: { verified: sum(v => v.verified), total: sum(v => v.shards), inFlight: sum(v => v.inFlight), failed: sum(v => v.failed), jobs: recViews.map(v => v.jobId) },
      images,
      failures,
      deadline: det.policy.deadline,
      ...(error !== undefined ? { error } : {})
    }
  }

  /**
   * Tries the failed shards of both stages again (Requester.retryFailed).
   * Images whose lines are found this time get a reading job of their own
   * once detection is done again, as any detected image does.
   * @returns how many shards were reopened.
   */
  retryFailed (jobId: string): number {
    const det = this.init.requester.view(jobId)
    if (det === undefined || !isOcrJobMeta(det.meta)) return 0
    return [jobId, ...this.recJobs(jobId).map(v => v.jobId)].reduce((n, id) => n + this.init.requester.retryFailed(id), 0)
  }

  /**
   * Cancels an OCR job: both stages' jobs, done or not (Requester.cancel:
   * nothing runs them again, and after a reload the detection job's status
   * still says no reading is to be posted), and stage 2 not posted yet.
   * @returns false if `jobId` is not one of ours.
   */
  cancel (jobId: string): boolean {
    const det = this.init.requester.view(jobId)
    if (det === undefined || !isOcrJobMeta(det.meta)) return false
    this.cancelled.add(jobId)
    for (const id of [jobId, ...this.recJobs(jobId).map(v => v.jobId)]) this.init.requester.cancel(id)
    this.emit(jobId)
    return true
  }

  /**
   * Deletes an OCR job that is over, both stages (Requester.remove).
   * @returns false if `jobId` is not one of ours or a stage still runs.
   */
  async remove (jobId: string): Promise<boolean> {
    const det = this.init.requester.view(jobId)
    if (det === undefined || !isOcrJobMeta(det.meta)) return false
    const recs = this.recJobs(jobId)
    if ([det, ...recs].some(v => v.status === 'running')) return false
    for (const v of recs) await this.init.requester.remove(v.jobId)
    await this.init.requester.remove(jobId)
    this.empty.delete(jobId)
    this.errors.delete(jobId)
    this.cancelled.delete(jobId)
    return true
  }

  /** Cancelled here, or (after a reload) either stage's job was. */
  private isCancelled (det: JobView, recs: JobView[]): boolean {
    return this.cancelled.has(det.jobId) || [det, ...recs].some(v => wasCancelled(v.status))
  }

  /** Receipts of both stages, proven against one fresh tree head. */
  async receiptBundle (jobId: string): Promise<ReceiptBundle> {
    const parts: ReceiptBundle[] = []
    for (const id of [jobId, ...this.recJobs(jobId).map(v => v.jobId)]) parts.push(await this.init.requester.receiptBundle(id))
    const heads = new Map<string, Uint8Array>()
    for (const h of parts.flatMap(p => p.heads)) heads.set(toHex(sha256(h)), h)
    return { receipts: parts.flatMap(p => p.receipts), heads: [...heads.values()] }
  }

  private onUpdate (evt: CustomEvent<string>): void {
    const job = this.init.requester.view(evt.detail)
    if (job !== undefined && isOcrJobMeta(job.meta)) this.kick(job.jobId)
  }

  /** This detection job's recognition jobs, oldest first. */
  private recJobs (jobId: string): JobView[] {
    return this.init.requester.list().filter(v => isOcrRecMeta(v.meta) && v.meta.parent === jobId).reverse()
  }

  private kick (jobId: string): void {
    this.dirty.add(jobId)
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined
      if (this.dirty.size > 0 && !this.controller.signal.aborted) this.kick([...this.dirty][0]!)
    })
  }

  /** Advances dirty jobs one at a time (two passes over one job must not post its images twice). */
  private async drain (): Promise<void> {
    while (this.dirty.size > 0 && !this.controller.signal.aborted) {
      const jobId = [...this.dirty][0]!
      this.dirty.delete(jobId)
      try {
        await this.advance(jobId)
        if (this.errors.delete(jobId)) this.emit(jobId)
      } catch (err) {
        if (this.controller.signal.aborted) return
        const error = errorInfo(err)
        this.log.error('stage 2 of OCR job %s: %s', jobId, errorLine(error))
        this.errors.set(jobId, { code: 'post-failed', error })
        this.emit(jobId)
        clearTimeout(this.retries.get(jobId))
        this.retries.set(jobId, setTimeout(() => { this.retries.delete(jobId); this.kick(jobId) }, this.init.retryMs ?? 10_000))
      }
    }
  }

  /**
   * Once detection is done, posts stage 2 for every detected image not read
   * yet from its accepted map: new images, and images whose detection was
   * re-verified with another answer after their lines were posted (a
   * re-verification runs the detection job again, so this waits for it).
   */
  private async advance (jobId: string): Promise<void> {
    const req = this.init.requester
    const det = req.view(jobId)
    if (det === undefined || !isOcrJobMeta(det.meta) || det.status !== 'done') return
    if (this.retries.has(jobId)) return // waiting out an error
    if (this.isCancelled(det, this.recJobs(jobId))) return
    // Read together: each image's lines are cropped from the output whose hash the job records.
    const outputs = req.results(jobId)
    const detected = detectedMaps(req.shards(jobId))
    const empty = this.empty.get(jobId) ?? new Map<number, string>()
    this.empty.set(jobId, empty)
    const recs = this.recJobs(jobId).map(v => v.meta as OcrRecMeta)
    const todo = imagesToRead(detected, recs, empty)
    if (todo.length === 0) return
    const before = new Set(recs.flatMap(r => r.crops.map(c => c.image)))
    // Stage 2 relies on these maps: their verdicts must be stored first, or a
    // reload could re-decide an image whose lines are already out (other boxes).
    await req.flushed()
    const perImage: Array<Array<{ crop: OcrCrop, input: Uint8Array }>> = []
    for (const i of todo) {
      const img = await decodeOcrImage(det.meta.images[i]!)
      const lines = recShards(i, img, outputs.get(i)!)
      if (lines.length === 0) empty.set(i, detected.get(i)!)
      else perImage.push(lines)
    }
    for (const batch of recJobBatches(perImage)) {
      if (this.cancelled.has(jobId)) break
      const images = [...new Set(batch.map(s => s.crop.image))]
      const again = images.filter(i => before.has(i))
      if (again.length > 0) this.log('OCR job %s: images %o were re-verified with another answer: their lines are read again', jobId, again)
      await this.postReading(det, det.meta, batch, images.map(image => ({ image, outputHash: detected.get(image)! })), again.length > 0)
    }
    this.emit(jobId)
  }

  private recModel (): CatalogModel {
    const model = this.init.catalog.models.find(m => m.processing === 'ocr-rec')
    if (model === undefined) throw new Error('the catalog has no text-recognition model')
    return model
  }

  /** Signs and announces one recognition job, its canaries computed here first. */
  private async postReading (det: JobView, meta: OcrJobMeta, batch: Array<{ crop: OcrCrop, input: Uint8Array }>, maps: OcrMapRef[], again: boolean): Promise<void> {
    const model = this.recModel()
    const detModel = this.init.catalog.models.find(m => m.id === det.modelId)
    // The model's own rule unless the requester chose another for this job.
    const compare: CompareRule = detModel !== undefined && sameRule(det.policy.compare, detModel.compare) ? model.compare : det.policy.compare
    const policy: JobPolicy = { ...det.policy, compare }
    const inputs = batch.map(s => s.input)
    const canaries = new Map<number, Uint8Array>()
    const signal = this.controller.signal
    // Past its deadline the reading ends as soon as it is posted (its lines fail, saying so): no canary is worth computing.
    const picks = Date.now() >= policy.deadline ? [] : canaryShards(inputs.length, policy.canaryRate)
    if (picks.length > 0) {
      // Loaded each time: the worker keeps a few sessions and may have dropped this one.
      const { bytes } = await this.init.loadModel(model, { signal })
      await this.init.client.load({ sha256: model.sha256, bytes }, { signal, batchable: model.batchable })
    }
    for (const shard of picks) {
      canaries.set(shard, (await this.init.client.runShard(model.sha256, model.processing, inputs[shard]!, { signal })).output)
    }
    const images = new Set(batch.map(s => s.crop.image)).size
    const recMeta: OcrRecMeta = { kind: 'ocr-rec', parent: det.jobId, crops: batch.map(s => s.crop), maps }
    const id = await this.init.requester.post({
      title: this.init.readingTitle({ job: det.title, lines: inputs.length, images, again }),
      model: { id: model.id, sha256: model.sha256 },
      inputs,
      policy,
      canaries,
      meta: recMeta
    })
    this.log('OCR job %s: posted %s for %d lines of %d of its %d images', det.jobId, id, inputs.length, images, meta.images.length)
    // Cancelled while this was being posted: it stops at once.
    if (this.cancelled.has(det.jobId)) this.init.requester.cancel(id)
  }

  /** Text of an accepted recognition output, once the dictionary is here. */
  private read (output: Uint8Array): { text: string, score: number } | undefined {
    const known = this.texts.get(output)
    if (known !== undefined || this.chars === undefined) return known
    let line: { text: string, score: number }
    try {
      line = readLine(output, this.chars)
    } catch (err) {
      // Accepted outputs were decoded and compared before; this is a model/dictionary mismatch.
      line = { text: '', score: 0 }
      this.log.error('an accepted recognition output does not decode: %s', (err as Error).message)
    }
    this.texts.set(output, line)
    return line
  }

  /** Loads the recogniser's dictionary once (hash-checked, cached like a model). */
  private loadDictionary (): void {
    if (this.chars !== undefined || this.charsLoading !== undefined) return
    const model = this.init.catalog.models.find(m => m.processing === 'ocr-rec')
    const asset = model?.assets[0]
    if (model === undefined || asset === undefined) { this.dictionaryError = { code: 'no-dictionary' }; return }
    this.charsLoading = this.init.loadModel({ id: `${model.id}/${asset.file}`, sha256: asset.sha256, bytes: asset.bytes, file: asset.file }, { signal: this.controller.signal })
      .then(({ bytes }) => {
        this.chars = ocrCharacters(new TextDecoder().decode(bytes))
        this.dictionaryError = undefined
        for (const v of this.init.requester.list()) if (isOcrJobMeta(v.meta)) this.emit(v.jobId)
      })
      .catch(err => {
        if (this.controller.signal.aborted) return
        this.dictionaryError = { code: 'dictionary-failed', error: errorInfo(err) }
        this.log.error('the text-recognition dictionary did not load (retrying): %s', errorLine(this.dictionaryError.error))
        for (const v of this.init.requester.list()) if (isOcrJobMeta(v.meta)) this.emit(v.jobId)
        // Let a later view try again.
        setTimeout(() => { this.charsLoading = undefined }, this.init.retryMs ?? 10_000)
      })
  }

  private emit (jobId: string): void {
    this.safeDispatchEvent('ocr:update', { detail: jobId })
  }
}

/** Hashes of the accepted detection outputs (canary answers included), by image. */
function detectedMaps (shards: readonly ShardView[]): Map<number, string> {
  const out = new Map<number, string>()
  for (const s of shards) if ((s.status === 'verified' || s.status === 'canary') && s.outputHash !== undefined) out.set(s.shard, s.outputHash)
  return out
}

function sameRule (a: CompareRule, b: CompareRule): boolean {
  if (a.kind !== b.kind) return false
  return a.kind !== 'allclose' || (b.kind === 'allclose' && a.atol === b.atol && a.rtol === b.rtol)
}
