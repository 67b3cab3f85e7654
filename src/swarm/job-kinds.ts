/**
 * How a requester's files become shards, and shard outputs become results,
 * for each kind of catalog model. Shared by the Submit page (building and
 * previewing), the Job page (results) and exports, so there is one place
 * that knows that shard k of a digits job holds images k·n … k·n+n−1.
 */
import { decodeTensors, encodeTensors, tensorValues } from '../core/tensors.ts'
import type { CompareRule, JobPolicy } from '../core/schemas.ts'
import { aboutFile, BadInputError } from '../compute/errors.ts'
import type { CatalogModel } from '../compute/catalog.ts'
import { readDigits } from '../compute/digit-reader.ts'
import { digitPredictions, digitsShardInput, type DigitPrediction } from '../compute/models/digits.ts'
import { speechSegments, wavTo16k, VAD, type SpeechSegment } from '../compute/models/vad.ts'
import { vadShardInput } from '../compute/shard-task.ts'
import { buildOcrInputs, type OcrJobMeta } from './ocr-job.ts'

/**
 * Images per digits shard, by default, for a job of `images` images: cut
 * into about {@link DIGITS_TARGET_SHARDS} shards, so that a job spreads over
 * many volunteers, with at least {@link DIGITS_PER_SHARD} images a shard and
 * at most {@link DIGITS_LARGE_SHARD}. Each shard costs signatures, a verdict,
 * a receipt and a share of a round trip whatever its size: tens of ms of CPU
 * across the pages, against ~1 ms of 1-thread inference per 8 images. So no
 * shard is cut smaller than about as much inference as that cost. Measured
 * with two volunteers (bench/README.md, 2026-12-07): 384 images in 48 shards
 * of 8 took about three times as long to verify as in 3 shards of 128, and
 * 1,024 in 47 of 22 or 3,072 in 48 of 64 about twice as long as in shards of 128.
 */
export function suggestedPerShard (images: number): number {
  return Math.min(DIGITS_LARGE_SHARD, Math.max(DIGITS_PER_SHARD, Math.ceil(images / DIGITS_TARGET_SHARDS)))
}
/** Fewest images per digits shard by default (about 17 ms of 1-thread inference). */
export const DIGITS_PER_SHARD = 128
/** Most images per digits shard by default (about 35 ms of 1-thread inference). */
export const DIGITS_LARGE_SHARD = 256
/** Shards a large digits job is cut into by default. */
export const DIGITS_TARGET_SHARDS = 48
/** Most images in one digits shard (1024 images are 784 KiB of input: one byte per pixel). */
export const DIGITS_MAX_PER_SHARD = 1024
/** Shortest and longest deadline Submit offers, in hours from posting (36 s to 30 days). */
export const DEADLINE_MIN_HOURS = 0.01
export const DEADLINE_MAX_HOURS = 720

/**
 * Images per digits shard for a requested count (by default {@link suggestedPerShard} of `images`).
 * @throws {BadInputError} unless it is a whole number from 1 to {@link DIGITS_MAX_PER_SHARD}.
 */
export function digitsPerShard (requested: number | undefined, images: number): number {
  if (requested === undefined) return suggestedPerShard(images)
  if (!Number.isInteger(requested) || requested < 1 || requested > DIGITS_MAX_PER_SHARD) throw new BadInputError(`images per shard must be a whole number from 1 to ${DIGITS_MAX_PER_SHARD}, not ${requested}`, { code: 'per-shard', params: { max: DIGITS_MAX_PER_SHARD, value: requested } })
  return requested
}

/** What the job page needs to turn outputs back into per-file results. */
export type JobMeta =
  | { kind: 'digits', files: string[], perShard: number }
  | { kind: 'vad', files: string[], samples: number[] }
  | { kind: 'tensors', files: string[] }
  | OcrJobMeta

export interface BuiltInputs { inputs: Uint8Array[], meta: JobMeta }

export type FileResult =
  | { file: string, kind: 'digits', prediction: DigitPrediction }
  | { file: string, kind: 'vad', segments: SpeechSegment[], durationMs: number }
  | { file: string, kind: 'tensors', output: Record<string, { dtype: string, dims: number[], values: number[] }> }

/**
 * Turns uploaded files into shard inputs for `model`.
 * @throws {BadInputError} naming the file that is not usable (not an image, not a WAV, …).
 */
export async function buildInputs (model: CatalogModel, files: readonly File[], options: {
  onProgress?: (done: number) => void
  /** Images per digits shard (default {@link suggestedPerShard}). */
  perShard?: number
  signal?: AbortSignal
} = {}): Promise<BuiltInputs> {
  if (files.length === 0) throw new BadInputError('choose at least one file', { code: 'no-files' })
  const names = files.map(f => f.webkitRelativePath !== '' ? f.webkitRelativePath : f.name)
  if (model.processing === 'digits') {
    const pixels = await readDigits(files, names, { onProgress: options.onProgress, signal: options.signal })
    const perShard = digitsPerShard(options.perShard, pixels.length)
    const inputs: Uint8Array[] = []
    for (let i = 0; i < pixels.length; i += perShard) inputs.push(encodeTensors(digitsShardInput(pixels.slice(i, i + perShard))))
    return { inputs, meta: { kind: 'digits', files: names, perShard } }
  }
  if (model.processing === 'vad') {
    const inputs: Uint8Array[] = []
    const samples: number[] = []
    for (const [i, file] of files.entries()) {
      options.signal?.throwIfAborted()
      let audio: Float32Array
      try {
        audio = wavTo16k(new Uint8Array(await file.arrayBuffer()))
      } catch (err) {
        throw aboutFile(err, names[i]!)
      }
      inputs.push(vadShardInput(audio))
      samples.push(audio.length)
      options.onProgress?.(i + 1)
    }
    return { inputs, meta: { kind: 'vad', files: names, samples } }
  }
  // OCR: this posts stage 1 (detection); ocr-pipeline.ts posts stage 2 as lines are found.
  if (model.processing === 'ocr-det') return await buildOcrInputs(files, names, options)
  throw new BadInputError(`jobs for ${model.title} are not supported from files yet`, { code: 'no-files-route', params: { model: model.id } })
}

/** Defaults a requester can change: 2 replicas that must agree, 5 % canaries, a day to finish. */
export function defaultPolicy (compare: CompareRule, now = Date.now()): JobPolicy {
  return { replicas: 2, quorum: 2, compare, canaryRate: 0.05, deadline: now + 24 * 3600_000 }
}

/** Which shards become canaries (answers computed by the requester): `rate` of them, at least one when rate > 0, spread out. */
export function canaryShards (shards: number, rate: number): number[] {
  if (rate <= 0 || shards < 2) return []
  const count = Math.min(shards - 1, Math.max(1, Math.round(shards * rate)))
  const step = shards / count
  return Array.from({ length: count }, (_, i) => Math.min(shards - 1, Math.floor(i * step + step / 2)))
}

/** Per-file results from accepted shard outputs; files whose shard is not verified yet are left out. */
export function fileResults (meta: JobMeta, outputs: ReadonlyMap<number, Uint8Array>): FileResult[] {
  if (meta.kind === 'ocr') return [] // both stages make OCR results: OcrPipeline.view
  return [...outputs].flatMap(([shard, bytes]) => {
    // A job page redraws as shards arrive: decoding every output each time made a large job's page quadratic.
    const key = `${meta.kind}:${shard}`
    const cached = decodedShards.get(bytes)
    if (cached?.key === key) return cached.results
    const results = shardResults(meta, shard, bytes)
    decodedShards.set(bytes, { key, results })
    return results
  })
}

/**
 * The outputs a page decodes to show at most `maxFiles` files: for digits,
 * the first shards (in shard order) up to `maxFiles` images; every output
 * for the other kinds (one file per shard). A large digits job's page used
 * to decode every output as it came (once each, ~1 ms per 256-image shard
 * on the requester's thread) for tiles it never drew; exports decode all.
 */
export function shownOutputs (meta: JobMeta, outputs: ReadonlyMap<number, Uint8Array>, maxFiles: number): ReadonlyMap<number, Uint8Array> {
  if (meta.kind !== 'digits') return outputs
  const shown = new Map<number, Uint8Array>()
  let files = 0
  for (const shard of [...outputs.keys()].sort((a, b) => a - b)) {
    if (files >= maxFiles) break
    shown.set(shard, outputs.get(shard)!)
    files += shardFiles(meta, shard).length
  }
  return shown
}

/** How many files have a result among `outputs`, counted without decoding them (OCR: none, see fileResults). */
export function resultCount (meta: JobMeta, outputs: ReadonlyMap<number, Uint8Array>): number {
  let n = 0
  for (const shard of outputs.keys()) n += shardFiles(meta, shard).length
  return n
}

/** The files one shard was made of (none for OCR, whose shards are images and lines of its own). */
export function shardFiles (meta: JobMeta, shard: number): string[] {
  if (meta.kind === 'ocr') return []
  if (meta.kind === 'digits') return meta.files.slice(shard * meta.perShard, (shard + 1) * meta.perShard)
  const file = meta.files[shard]
  return file === undefined ? [] : [file]
}

/** The results of each shard output already decoded, by its bytes (outputs are kept, never changed in place). */
const decodedShards = new WeakMap<Uint8Array, { key: string, results: FileResult[] }>()

/** The results of one shard's output (none if it does not decode as the job's model gives it). */
function shardResults (meta: Exclude<JobMeta, { kind: 'ocr' }>, shard: number, bytes: Uint8Array): FileResult[] {
  const out: FileResult[] = []
  const decoded = decodeTensors(bytes, { maxBytes: 64 * 1024 * 1024 })
  if (!decoded.ok) return out
  const t = decoded.tensors
  if (meta.kind === 'digits') {
    const logits = t.logits ?? Object.values(t)[0]
    if (logits === undefined) return out
    digitPredictions(logits).forEach((prediction, i) => {
      const file = meta.files[shard * meta.perShard + i]
      if (file !== undefined) out.push({ file, kind: 'digits', prediction })
    })
  } else if (meta.kind === 'vad') {
    const probs = t.probs
    const samples = meta.samples[shard]
    if (probs === undefined || samples === undefined) return out
    out.push({ file: meta.files[shard] ?? `clip ${shard}`, kind: 'vad', segments: speechSegments(Array.from(tensorValues(probs)), samples), durationMs: Math.round(samples * 1000 / VAD.sampleRate) })
  } else {
    const output: Record<string, { dtype: string, dims: number[], values: number[] }> = {}
    for (const [name, v] of Object.entries(t)) output[name] = { dtype: v.dtype, dims: v.dims, values: Array.from(tensorValues(v)) }
    out.push({ file: meta.files[shard] ?? `shard ${shard}`, kind: 'tensors', output })
  }
  return out
}

/** Results as CSV (one row per file; for tensor outputs, one row per file and output, values space-separated in C order). */
export function resultsCsv (results: readonly FileResult[]): string {
  const quote = (s: string): string => /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  const rows = results.flatMap(r => {
    if (r.kind === 'digits') return [[r.file, String(r.prediction.digit), r.prediction.probability.toFixed(4)]]
    if (r.kind === 'vad') return [[r.file, r.segments.map(s => `${s.startMs}-${s.endMs}`).join(' '), String(r.durationMs)]]
    return Object.entries(r.output).map(([name, t]) => [r.file, name, t.dtype, t.dims.join('x'), t.values.join(' ')])
  })
  const header = results[0]?.kind === 'digits' ? ['file', 'digit', 'probability'] : results[0]?.kind === 'vad' ? ['file', 'speech_ms', 'duration_ms'] : ['file', 'output', 'dtype', 'dims', 'values']
  return [header, ...rows].map(r => r.map(quote).join(',')).join('\n') + '\n'
}
