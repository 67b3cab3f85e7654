/**
 * OCR as two stages of ordinary verified jobs (the pure part; the requester
 * side that runs the stages is ocr-pipeline.ts).
 *
 * Stage 1, text detection: one shard per image, its pixels at detection size
 * (src/compute/shard-task.ts); replicas' probability maps are compared under
 * the `ocr-det` rule. Stage 2, recognition: once the maps are accepted, the
 * requester (never a volunteer) runs the deterministic DB post-process on
 * each accepted map, crops each line from its own copy of the image and
 * posts a job with one shard per line (ocr-pipeline.ts says when); replicas' character probabilities are
 * compared under the `ocr-rec` rule and the requester decodes the accepted
 * ones. So every text the user gets comes from verified outputs and the
 * requester's own code, exactly as the single-machine pipeline
 * (`recognizeText`) reads it: same boxes, same crops, same decoding.
 *
 * One line per recognition shard (not several): lines differ in width, and
 * padding them to one batch would change what the model reads. A line's
 * output is the likeliest class and its probability per step (T = width / 8
 * steps, src/compute/shard-task.ts), compared under the rule and decoded
 * here; lines stored before that hold the model's whole [1, T, 6625] output,
 * which still decodes.
 *
 * The link between the stages lives in the jobs' `meta` (stored with the
 * jobs, so a reload resumes either stage): the detection job holds the
 * images; each recognition job names its parent, per shard which image and
 * box the line came from, and per image which accepted detection output
 * (by hash) it cropped from. A detection shard can be re-verified after
 * stage 2 was posted (a peer credited for it was caught lying elsewhere):
 * if it is accepted with another answer, the lines cropped from the old one
 * stop counting and the image is read again from the new one, in a new
 * recognition job, so every text still comes from verified outputs.
 */
import { decodeTensors, encodeTensors, type TensorData, type TensorMap } from '../core/tensors.ts'
import { LIMITS } from '../core/constants.ts'
import { WORK_MAX_OUTPUT_BYTES } from '../net/constants.ts'
import { aboutFile, BadInputError } from '../compute/errors.ts'
import { decodeImage, resizeBilinear, type RgbaImage } from '../compute/models/image.ts'
import { ctcDecode, ctcDecodeBest, detSize, lineCrops, recImage, rgbTensor, type Box } from '../compute/models/ocr.ts'

/** One image of an OCR job, kept by the requester: stage 2 crops from it, the job page draws on it. */
export interface OcrImage {
  file: string
  width: number
  height: number
  /** MIME type and bytes of the file as uploaded. */
  type: string
  bytes: Uint8Array
}

/** `meta` of a detection job (stage 1): shard i is image i. */
export interface OcrJobMeta { kind: 'ocr', images: OcrImage[] }

/** Where one recognition shard's line came from. */
export interface OcrCrop { image: number, box: Box }

/** `meta` of a recognition job (stage 2): shard i reads `crops[i]`. */
export interface OcrRecMeta {
  kind: 'ocr-rec'
  parent: string
  crops: OcrCrop[]
  /**
   * The accepted detection output (sha256 hex) each image's lines were
   * cropped from. Absent in jobs posted before it was recorded: their lines
   * count whenever their image is detected.
   */
  maps?: OcrMapRef[]
}

/** Which accepted detection output of `image` a recognition job cropped from. */
export interface OcrMapRef { image: number, outputHash: string }

export function isOcrJobMeta (meta: unknown): meta is OcrJobMeta {
  return typeof meta === 'object' && meta !== null && (meta as { kind?: unknown }).kind === 'ocr' && Array.isArray((meta as { images?: unknown }).images)
}

export function isOcrRecMeta (meta: unknown): meta is OcrRecMeta {
  if (typeof meta !== 'object' || meta === null) return false
  const m = meta as { kind?: unknown, parent?: unknown, crops?: unknown, maps?: unknown }
  return m.kind === 'ocr-rec' && typeof m.parent === 'string' && Array.isArray(m.crops) && (m.maps === undefined || Array.isArray(m.maps))
}

/**
 * Whether a recognition job's lines of `image` are current: cropped from the
 * detection output accepted now (`detected`: image → accepted output hash).
 * A detection re-verified after stage 2 was posted may be accepted with
 * another answer (a peer credited for it was caught lying): lines cropped
 * from the old answer no longer count, and the image is read again.
 */
export function currentLines (rec: OcrRecMeta, image: number, detected: ReadonlyMap<number, string>): boolean {
  const now = detected.get(image)
  if (now === undefined) return false
  if (rec.maps === undefined) return true
  return rec.maps.some(m => m.image === image && m.outputHash === now)
}

/** The detection shard input of an image: its RGB bytes at detection size. */
export function detShardInput (img: RgbaImage): Uint8Array {
  const { width, height } = detSize(img)
  return encodeTensors({ rgb: rgbTensor(resizeBilinear(img, width, height)) })
}

/**
 * Detection shard inputs and job meta from uploaded images.
 * @throws {BadInputError} naming the file that is not a decodable image.
 */
export async function buildOcrInputs (files: readonly File[], names: readonly string[], options: { onProgress?: (done: number) => void, signal?: AbortSignal } = {}): Promise<{ inputs: Uint8Array[], meta: OcrJobMeta }> {
  const inputs: Uint8Array[] = []
  const images: OcrImage[] = []
  // One at a time: a page photo decodes to tens of MB of pixels.
  for (const [i, file] of files.entries()) {
    options.signal?.throwIfAborted()
    const name = names[i] ?? file.name
    let img: RgbaImage
    try {
      img = await decodeImage(file)
    } catch (err) {
      throw aboutFile(err, name)
    }
    inputs.push(detShardInput(img))
    images.push({ file: name, width: img.width, height: img.height, type: file.type, bytes: new Uint8Array(await file.arrayBuffer()) })
    options.onProgress?.(i + 1)
  }
  return { inputs, meta: { kind: 'ocr', images } }
}

/**
 * Decodes an image an OCR job keeps (stage 2 crops from it).
 * @throws {BadInputError} the browser cannot decode it.
 */
export async function decodeOcrImage (image: OcrImage): Promise<RgbaImage> {
  const img = await decodeImage(new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: image.type }))
  if (img.width !== image.width || img.height !== image.height) {
    throw new BadInputError(`${image.file} decodes to ${img.width}×${img.height}, not the ${image.width}×${image.height} it was posted at`)
  }
  return img
}

/** The tensors of an encoded model output, or a clear error. */
function outputTensors (output: Uint8Array, what: string): TensorMap {
  const decoded = decodeTensors(output, { maxBytes: WORK_MAX_OUTPUT_BYTES })
  if (!decoded.ok) throw new BadInputError(`${what}: ${decoded.reason}`)
  return decoded.tensors
}

/** The first of a model output's tensors, or a clear error. */
function firstTensor (tensors: TensorMap, what: string): TensorData {
  const t = Object.values(tensors)[0]
  if (t === undefined) throw new BadInputError(`${what} holds no tensor`)
  return t
}

/**
 * Stage 2 inputs of one image: its lines (DB post-process of the accepted
 * detection map, in reading order), each cropped from `img`, resized for
 * recognition and encoded as a shard input.
 * @throws {BadInputError} the output is not a [1, 1, H, W] float32 map.
 */
export function recShards (image: number, img: RgbaImage, detOutput: Uint8Array): Array<{ crop: OcrCrop, input: Uint8Array }> {
  return lineCrops(img, firstTensor(outputTensors(detOutput, 'detection output'), 'detection output')).map(({ box, piece }) => ({
    crop: { image, box },
    input: encodeTensors({ rgb: rgbTensor(recImage(piece)) })
  }))
}

/** The text of one accepted recognition output (greedy CTC with the dictionary `chars`). */
export function readLine (recOutput: Uint8Array, chars: readonly string[]): { text: string, score: number } {
  const tensors = outputTensors(recOutput, 'recognition output')
  const { best, prob } = tensors
  if (best !== undefined && prob !== undefined) return ctcDecodeBest(best, prob, chars)
  // Lines read before shards handed in only the best class per step: the whole [1, T, C] output.
  return ctcDecode(firstTensor(tensors, 'recognition output'), chars)
}

/**
 * Images whose stage 2 is still to post: detection accepted (`detected`:
 * image → accepted output hash), in no recognition job cropped from that
 * output, and not known to hold no line in it (`empty`: image → the output
 * found empty). Sorted.
 */
export function imagesToRead (detected: ReadonlyMap<number, string>, recs: readonly OcrRecMeta[], empty: ReadonlyMap<number, string>): number[] {
  const covered = new Set(recs.flatMap(r => r.crops.map(c => c.image).filter(i => currentLines(r, i, detected))))
  return [...detected.keys()].filter(i => !covered.has(i) && empty.get(i) !== detected.get(i)).sort((a, b) => a - b)
}

/**
 * Groups stage 2 shards into jobs no larger than a manifest allows, never
 * splitting one image's lines (an image is in one job or none, which is what
 * tells a resumed requester which images are still to read).
 */
export function recJobBatches<T> (perImage: ReadonlyArray<readonly T[]>, max: number = LIMITS.jobShards): T[][] {
  const out: T[][] = []
  let batch: T[] = []
  for (const lines of perImage) {
    if (lines.length > max) throw new RangeError(`an image has ${lines.length} lines, more than the ${max} shards of a job`)
    if (batch.length + lines.length > max) { out.push(batch); batch = [] }
    batch.push(...lines)
  }
  if (batch.length > 0) out.push(batch)
  return out
}

export interface OcrLineResult { box: Box, text: string, score: number }

export interface OcrImageResult {
  image: number
  file: string
  width: number
  height: number
  /** detecting: stage 1 not verified yet; reading: lines being read; done; failed: detection failed. */
  status: 'detecting' | 'reading' | 'done' | 'failed'
  /** Lines found by detection (known once stage 2 is posted). */
  found: number
  /** Lines whose recognition is decided (verified or failed). */
  read: number
  /** Recognised lines in reading order (empty texts left out, as the single-machine pipeline does). */
  lines: OcrLineResult[]
  /**
   * Lines read from an earlier detection answer were set aside: the image's
   * detection was re-verified after stage 2 was posted, and is being decided
   * again or was accepted with another answer (whose lines are read anew).
   */
  rechecked: boolean
}

/** What the requester knows of both stages of one OCR job. */
export interface OcrStages {
  /** Images whose detection is accepted, with the accepted output's hash. */
  detected: ReadonlyMap<number, string>
  /** Images whose detection failed (no agreement within the policy). */
  detectFailed: ReadonlySet<number>
  /** Detected images with no line (nothing to read), with the output found empty. */
  empty: ReadonlyMap<number, string>
  /** Stage 2 jobs: their meta, accepted outputs by shard and failed shards. */
  recs: Array<{ meta: OcrRecMeta, outputs: ReadonlyMap<number, Uint8Array>, failed: ReadonlySet<number> }>
}

/**
 * Per-image results from both stages. `read` decodes one accepted
 * recognition output (the caller may cache it); undefined means the text
 * cannot be decoded yet (e.g. the dictionary is still loading).
 */
export function ocrResults (meta: OcrJobMeta, stages: OcrStages, read: (output: Uint8Array) => { text: string, score: number } | undefined): OcrImageResult[] {
  const lines = meta.images.map(() => ({ found: 0, read: 0, pending: false, rechecked: false, lines: [] as OcrLineResult[] }))
  const posted = new Set<number>()
  for (const rec of stages.recs) {
    rec.meta.crops.forEach((crop, shard) => {
      const at = lines[crop.image]
      if (at === undefined) return
      if (!currentLines(rec.meta, crop.image, stages.detected)) {
        // Only a job that recorded its map can tell a re-verified image's lines are stale.
        if (rec.meta.maps !== undefined) at.rechecked = true
        return
      }
      posted.add(crop.image)
      at.found++
      const output = rec.outputs.get(shard)
      const decoded = output === undefined ? undefined : read(output)
      if (decoded !== undefined) {
        at.read++
        if (decoded.text.trim() !== '') at.lines.push({ box: crop.box, text: decoded.text, score: decoded.score })
      } else if (rec.failed.has(shard)) {
        at.read++
      } else {
        at.pending = true
      }
    })
  }
  return meta.images.map((img, i) => {
    const l = lines[i]!
    const status: OcrImageResult['status'] = stages.detectFailed.has(i)
      ? 'failed'
      : !stages.detected.has(i)
          ? 'detecting'
          : stages.empty.get(i) === stages.detected.get(i) || (posted.has(i) && !l.pending) ? 'done' : 'reading'
    return { image: i, file: img.file, width: img.width, height: img.height, status, found: l.found, read: l.read, lines: l.lines, rechecked: l.rechecked }
  })
}

/** Results as CSV: one row per recognised line (box in image pixels). */
export function ocrCsv (results: readonly OcrImageResult[]): string {
  const quote = (s: string): string => /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  const n = (v: number): string => String(Math.round(v * 100) / 100)
  const rows = results.flatMap(r => r.lines.map(l => [r.file, n(l.box.x), n(l.box.y), n(l.box.width), n(l.box.height), l.text, l.score.toFixed(4)]))
  return [['file', 'x', 'y', 'width', 'height', 'text', 'score'], ...rows].map(r => r.map(quote).join(',')).join('\n') + '\n'
}

/** Results as the JSON export's `images` (every image, with its status, even if no line was found). */
export function ocrJson (results: readonly OcrImageResult[]): Array<{ file: string, width: number, height: number, status: OcrImageResult['status'], lines: OcrLineResult[] }> {
  return results.map(r => ({ file: r.file, width: r.width, height: r.height, status: r.status, lines: r.lines }))
}
