/**
 * PaddleOCR PP-OCRv4 in TypeScript: image → text boxes → crops → text.
 *
 * Detection (`ocr-det`): the image is resized so its longer side is at most
 * 960 and both sides are multiples of 32, normalised with ImageNet mean/std
 * in BGR channel order (PaddleOCR reads images with OpenCV, so BGR is what
 * the weights were trained on). The output is a text-probability map; the DB
 * post-process (Liao et al., "Real-time Scene Text Detection with
 * Differentiable Binarization", AAAI 2020) thresholds it at 0.3, takes
 * connected components, keeps those whose mean probability is ≥ 0.6, and
 * expands each box by area × 1.5 / perimeter ("unclip").
 * Simplification: boxes are axis-aligned rectangles (PaddleOCR fits rotated
 * rectangles), which suits horizontal text such as scans and screenshots.
 *
 * Recognition (`ocr-rec`): each crop is resized to height 48 keeping its
 * aspect ratio, normalised to [-1, 1] (BGR); the output [1, T, 6625] holds
 * per-step class probabilities: class 0 is the CTC blank, 1..6623 the lines
 * of `ppocr_keys_v1.txt`, 6624 a space. Greedy CTC decoding: argmax per step,
 * merge repeats, drop blanks (Graves et al., ICML 2006).
 */
import { makeTensor, tensorValues, type TensorData, type TensorMap } from '../../core/tensors.ts'
import { BadInputError } from '../errors.ts'
import { crop, resizeBilinear, type RgbaImage } from './image.ts'
import type { RunModel } from './runner.ts'

export const OCR = {
  detModel: 'ocr-det',
  recModel: 'ocr-rec',
  limitSide: 960,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  binaryThreshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  minBoxSide: 3,
  recHeight: 48,
  recMaxWidth: 48 * 40,
  maxBoxes: 200
} as const

export interface Box { x: number, y: number, width: number, height: number }

export interface OcrLine {
  box: Box
  text: string
  /** Mean probability of the decoded characters (0 for an empty line). */
  score: number
}

/** The recogniser's classes from the dictionary text: blank, one per line, then space. */
export function ocrCharacters (keysText: string): string[] {
  const lines = keysText.replace(/\r/g, '').split('\n')
  if (lines.at(-1) === '') lines.pop()
  return ['', ...lines, ' ']
}

/** The size detection runs at: longer side at most 960, both sides multiples of 32. */
export function detSize (img: { width: number, height: number }): { width: number, height: number } {
  const ratio = Math.max(img.width, img.height) > OCR.limitSide ? OCR.limitSide / Math.max(img.width, img.height) : 1
  return {
    width: Math.max(32, Math.round(img.width * ratio / 32) * 32),
    height: Math.max(32, Math.round(img.height * ratio / 32) * 32)
  }
}

/**
 * Pixels as an OCR shard carries them: uint8 [H, W, 3], RGB (alpha dropped,
 * as the float inputs below ignore it). A quarter of the float tensor's bytes;
 * the volunteer normalises with {@link detTensor} or {@link recTensor}.
 */
export function rgbTensor (img: RgbaImage): TensorData {
  const plane = img.width * img.height
  const rgb = new Uint8Array(plane * 3)
  for (let i = 0; i < plane; i++) {
    rgb[i * 3] = img.data[i * 4]!
    rgb[i * 3 + 1] = img.data[i * 4 + 1]!
    rgb[i * 3 + 2] = img.data[i * 4 + 2]!
  }
  return { dtype: 'uint8', dims: [img.height, img.width, 3], data: rgb }
}

/** Planar BGR floats [1, 3, H, W] from RGB bytes: `(v / 255 − mean[c]) / std[c]`. */
function bgrPlanes (rgb: TensorData, mean: readonly number[], std: readonly number[]): TensorMap {
  const [h, w] = rgb.dims as [number, number]
  const plane = w * h
  const values = new Float32Array(3 * plane)
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) values[c * plane + i] = (rgb.data[i * 3 + (2 - c)]! / 255 - mean[c]!) / std[c]!
  }
  return { x: makeTensor('float32', [1, 3, h, w], values) }
}

/** Checks RGB bytes from another peer before allocating floats from their dims. */
function checkRgb (rgb: TensorData, what: string, ok: (h: number, w: number) => boolean, expected: string): void {
  if (rgb.dtype !== 'uint8' || rgb.dims.length !== 3 || rgb.dims[2] !== 3 || !ok(rgb.dims[0]!, rgb.dims[1]!)) {
    throw new BadInputError(`${what} input must be uint8 [H, W, 3] with ${expected}, got ${rgb.dtype} ${JSON.stringify(rgb.dims)}`)
  }
}

/**
 * Detection model input from the RGB bytes of an image already at {@link detSize}.
 * @throws {BadInputError} not uint8 [H, W, 3] with sides multiples of 32 up to 960.
 */
export function detTensor (rgb: TensorData): TensorMap {
  checkRgb(rgb, 'a text-detection', (h, w) => [h, w].every(s => s >= 32 && s <= OCR.limitSide && s % 32 === 0), `sides multiples of 32 up to ${OCR.limitSide}`)
  return bgrPlanes(rgb, OCR.mean, OCR.std)
}

/** Model input for detection, and the scale back to image pixels. */
export function detInput (img: RgbaImage): { input: TensorMap, scaleX: number, scaleY: number } {
  const { width: w, height: h } = detSize(img)
  return { input: detTensor(rgbTensor(resizeBilinear(img, w, h))), scaleX: img.width / w, scaleY: img.height / h }
}

/**
 * DB post-process of a probability map [1, 1, H, W] into boxes in map pixels,
 * sorted top to bottom then left to right.
 * @throws {BadInputError} if the map is not [1, 1, H, W] float32.
 */
export function dbBoxes (map: TensorData): Array<Box & { score: number }> {
  if (map.dtype !== 'float32' || map.dims.length !== 4 || map.dims[0] !== 1 || map.dims[1] !== 1) {
    throw new BadInputError(`detection output must be float32 [1, 1, H, W], got ${map.dtype} ${JSON.stringify(map.dims)}`)
  }
  const h = map.dims[2]!
  const w = map.dims[3]!
  const p = tensorValues(map)
  const seen = new Uint8Array(w * h)
  const stack = new Int32Array(w * h)
  const boxes: Array<Box & { score: number }> = []
  for (let start = 0; start < w * h; start++) {
    if (seen[start] === 1 || p[start]! <= OCR.binaryThreshold) continue
    let minX = w; let minY = h; let maxX = -1; let maxY = -1
    let top = 0
    stack[top++] = start
    seen[start] = 1
    while (top > 0) {
      const i = stack[--top]!
      const x = i % w
      const y = (i - x) / w
      if (x < minX) minX = x
      if (x > maxX) maxX = x
      if (y < minY) minY = y
      if (y > maxY) maxY = y
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
        const nx = x + dx
        const ny = y + dy
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue
        const j = ny * w + nx
        if (seen[j] === 0 && p[j]! > OCR.binaryThreshold) { seen[j] = 1; stack[top++] = j }
      }
    }
    const bw = maxX - minX + 1
    const bh = maxY - minY + 1
    if (Math.min(bw, bh) < OCR.minBoxSide) continue
    let sum = 0
    for (let y = minY; y <= maxY; y++) for (let x = minX; x <= maxX; x++) sum += p[y * w + x]!
    const score = sum / (bw * bh)
    if (score < OCR.boxThreshold) continue
    const d = (bw * bh) * OCR.unclipRatio / (2 * (bw + bh))
    const x0 = Math.max(0, minX - d)
    const y0 = Math.max(0, minY - d)
    const x1 = Math.min(w, maxX + 1 + d)
    const y1 = Math.min(h, maxY + 1 + d)
    if (Math.min(x1 - x0, y1 - y0) < OCR.minBoxSide + 2) continue
    boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score })
    if (boxes.length >= OCR.maxBoxes) break
  }
  // Reading order: rows (boxes whose vertical centres are within half a line) left to right.
  return boxes.sort((a, b) => {
    const dy = (a.y + a.height / 2) - (b.y + b.height / 2)
    return Math.abs(dy) < Math.min(a.height, b.height) / 2 ? a.x - b.x : dy
  })
}

/** A crop resized for recognition: height 48, width from the aspect ratio (8 … 1920). */
export function recImage (crop: RgbaImage): RgbaImage {
  const h = OCR.recHeight
  const w = Math.min(OCR.recMaxWidth, Math.max(8, Math.ceil(h * crop.width / Math.max(1, crop.height))))
  return resizeBilinear(crop, w, h)
}

/**
 * Recognition model input from the RGB bytes of a crop already at {@link recImage} size.
 * @throws {BadInputError} not uint8 [48, W, 3] with 8 ≤ W ≤ 1920.
 */
export function recTensor (rgb: TensorData): TensorMap {
  checkRgb(rgb, 'a text-recognition', (h, w) => h === OCR.recHeight && w >= 8 && w <= OCR.recMaxWidth, `height ${OCR.recHeight} and width 8 to ${OCR.recMaxWidth}`)
  return bgrPlanes(rgb, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
}

/** Model input for recognition of one crop: [1, 3, 48, W], W from the aspect ratio. */
export function recInput (crop: RgbaImage): TensorMap {
  return recTensor(rgbTensor(recImage(crop)))
}

/**
 * The text lines of a detection map, in image pixels and reading order, each
 * with its crop of `img` (the map's pixels scale to the image's by the ratio
 * of their sizes). Lines whose crop is empty are left out.
 * @throws {BadInputError} if the map is not [1, 1, H, W] float32.
 */
export function lineCrops (img: RgbaImage, map: TensorData): Array<{ box: Box, piece: RgbaImage }> {
  const boxes = dbBoxes(map)
  const scaleX = img.width / map.dims[3]!
  const scaleY = img.height / map.dims[2]!
  const out: Array<{ box: Box, piece: RgbaImage }> = []
  for (const b of boxes) {
    const box = { x: b.x * scaleX, y: b.y * scaleY, width: b.width * scaleX, height: b.height * scaleY }
    const piece = crop(img, Math.round(box.x), Math.round(box.y), Math.round(box.width), Math.round(box.height))
    if (piece.width > 0 && piece.height > 0) out.push({ box, piece })
  }
  return out
}

/**
 * Greedy CTC decoding of [1, T, C] probabilities with `chars` (index 0 = blank).
 * @throws {BadInputError} if the output's class count differs from the dictionary's.
 */
export function ctcDecode (probs: TensorData, chars: readonly string[]): { text: string, score: number } {
  const { best, prob } = recBest(probs)
  if (probs.dims[2] !== chars.length) throw new BadInputError(`recognition output has ${probs.dims[2]!} classes but the dictionary gives ${chars.length}`)
  return ctcDecodeBest(best, prob, chars)
}

/**
 * What greedy CTC decoding reads of a recognition output [1, T, C]: per
 * step, the likeliest class (the first on ties) and its probability, as
 * `best`: int32 [1, T] and `prob`: float32 [1, T]. A recognition shard hands
 * in these instead of the whole output (T·C floats: ~2 MB for a 630-pixel
 * line against ~600 bytes), so replicas are compared on what the text is
 * read from (src/compute/shard-task.ts).
 * @throws {BadInputError} the output is not float32 [1, T, C].
 */
export function recBest (probs: TensorData): { best: TensorData, prob: TensorData } {
  if (probs.dtype !== 'float32' || probs.dims.length !== 3 || probs.dims[0] !== 1) {
    throw new BadInputError(`recognition output must be float32 [1, T, C], got ${probs.dtype} ${JSON.stringify(probs.dims)}`)
  }
  const steps = probs.dims[1]!
  const classes = probs.dims[2]!
  const v = tensorValues(probs)
  const best = new Int32Array(steps)
  const prob = new Float32Array(steps)
  for (let t = 0; t < steps; t++) {
    let b = 0
    for (let c = 1; c < classes; c++) if (v[t * classes + c]! > v[t * classes + b]!) b = c
    best[t] = b
    prob[t] = v[t * classes + b]!
  }
  return { best: makeTensor('int32', [1, steps], best), prob: makeTensor('float32', [1, steps], prob) }
}

/**
 * Greedy CTC decoding from the likeliest class per step ({@link recBest}):
 * merge repeats, drop blanks (class 0); the score is the mean probability of
 * the kept steps.
 * @throws {BadInputError} not int32 [1, T] and float32 [1, T], or a class beyond the dictionary.
 */
export function ctcDecodeBest (best: TensorData, prob: TensorData, chars: readonly string[]): { text: string, score: number } {
  const steps = best.dims[1]
  if (best.dtype !== 'int32' || prob.dtype !== 'float32' || best.dims.length !== 2 || best.dims[0] !== 1 || prob.dims.length !== 2 || prob.dims[0] !== 1 || prob.dims[1] !== steps) {
    throw new BadInputError(`a recognition result must be best: int32 [1, T] and prob: float32 [1, T], got ${best.dtype} ${JSON.stringify(best.dims)} and ${prob.dtype} ${JSON.stringify(prob.dims)}`)
  }
  const b = tensorValues(best)
  const p = tensorValues(prob)
  let text = ''
  let sum = 0
  let count = 0
  let previous = -1
  for (let t = 0; t < steps!; t++) {
    const c = b[t]!
    if (c < 0 || c >= chars.length) throw new BadInputError(`recognition result names class ${c}, beyond the dictionary's ${chars.length}`)
    if (c !== 0 && c !== previous) { text += chars[c]; sum += p[t]!; count++ }
    previous = c
  }
  return { text, score: count === 0 ? 0 : sum / count }
}

/** Full OCR of an image: detection, then recognition of each box (in reading order). */
export async function recognizeText (img: RgbaImage, run: RunModel, chars: readonly string[], options: { signal?: AbortSignal } = {}): Promise<OcrLine[]> {
  const det = detInput(img)
  const detOut = await run(OCR.detModel, det.input, options)
  const map = Object.values(detOut)[0]
  if (map === undefined) throw new BadInputError('detection model returned no output')
  const lines: OcrLine[] = []
  for (const { box, piece } of lineCrops(img, map)) {
    const recOut = await run(OCR.recModel, recInput(piece), options)
    const probs = Object.values(recOut)[0]
    if (probs === undefined) throw new BadInputError('recognition model returned no output')
    const { text, score } = ctcDecode(probs, chars)
    if (text.trim() !== '') lines.push({ box, text, score })
  }
  return lines
}
