/**
 * Digits (the CNN trained by scripts/train-digits.ts on MNIST): any image of
 * a handwritten digit → the 28×28 float input MNIST models expect, and
 * logits → predictions.
 *
 * Normalisation follows how MNIST was made (LeCun et al.): white ink on
 * black, the digit's bounding box scaled to fit 20×20 keeping its aspect
 * ratio, then placed in the 28×28 field so its centre of mass is at the
 * centre. Dark-on-light images (a drawing on a white canvas, a scan) are
 * inverted first, decided by the mean of the border pixels.
 *
 * A digits shard carries the 8-bit gray levels (`gray`: uint8 [N, 28, 28]),
 * not the floats: every input value is k / 255, so the volunteer expands the
 * levels to exactly the floats the requester would have sent, from a quarter
 * of the bytes on the wire.
 */
import { makeTensor, tensorValues, type TensorData, type TensorMap } from '../../core/tensors.ts'
import { BadInputError } from '../errors.ts'
import { grayscale, resizeBilinear, type RgbaImage } from './image.ts'

/** `input`: the model's input name; `shard`: the gray levels' name in a digits shard. */
export const DIGITS = { model: 'digits', input: 'input', shard: 'gray', side: 28, box: 20 } as const

/** 784 values in [0, 1], white digit on black, centred by mass: {@link digitGray}'s levels / 255. */
export function digitPixels (img: RgbaImage): Float32Array {
  return grayToUnit(digitGray(img))
}

/** 784 gray levels (0–255), white digit on black, centred by mass: what a digits shard carries. */
export function digitGray (img: RgbaImage): Uint8Array {
  const g = grayscale(img)
  const { width: w, height: h } = img
  let border = 0
  let n = 0
  for (let x = 0; x < w; x++) { border += g[x]! + g[(h - 1) * w + x]!; n += 2 }
  for (let y = 0; y < h; y++) { border += g[y * w]! + g[y * w + w - 1]!; n += 2 }
  const invert = border / n > 127
  const ink = new Float32Array(w * h)
  for (let i = 0; i < ink.length; i++) ink[i] = (invert ? 255 - g[i]! : g[i]!) / 255
  let minX = w; let minY = h; let maxX = -1; let maxY = -1
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x]! > 0.2) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y) }
    }
  }
  if (maxX < 0) throw new BadInputError('no digit found: the image is blank', { code: 'blank-digit' })
  const bw = maxX - minX + 1
  const bh = maxY - minY + 1
  const scale = DIGITS.box / Math.max(bw, bh)
  const tw = Math.max(1, Math.round(bw * scale))
  const th = Math.max(1, Math.round(bh * scale))
  // Resize the ink box as an RGBA image (ink in every channel) with the shared resizer.
  const boxRgba = new Uint8Array(bw * bh * 4)
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const v = Math.round(ink[(minY + y) * w + minX + x]! * 255)
      const at = (y * bw + x) * 4
      boxRgba[at] = boxRgba[at + 1] = boxRgba[at + 2] = v
      boxRgba[at + 3] = 255
    }
  }
  const small = resizeBilinear({ width: bw, height: bh, data: boxRgba }, tw, th)
  let mass = 0; let cx = 0; let cy = 0
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) { const v = small.data[(y * tw + x) * 4]!; mass += v; cx += v * x; cy += v * y }
  const ox = Math.round(DIGITS.side / 2 - (mass > 0 ? cx / mass : tw / 2) - 0.5)
  const oy = Math.round(DIGITS.side / 2 - (mass > 0 ? cy / mass : th / 2) - 0.5)
  const out = new Uint8Array(DIGITS.side * DIGITS.side)
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const X = x + ox; const Y = y + oy
      if (X >= 0 && Y >= 0 && X < DIGITS.side && Y < DIGITS.side) out[Y * DIGITS.side + X] = small.data[(y * tw + x) * 4]!
    }
  }
  return out
}

/**
 * float32(k / 255) for every gray level k: the one conversion from levels to
 * model input, so a volunteer that expands a shard's levels gets bit for bit
 * the floats the requester would have sent.
 */
const UNIT = Float32Array.from({ length: 256 }, (_x, k) => k / 255)

/** {@link UNIT} as the 4 little-endian bytes per value a float32 tensor holds (expanding a shard copies bytes). */
const UNIT_BYTES = (() => {
  const bytes = new Uint8Array(256 * 4)
  const view = new DataView(bytes.buffer)
  UNIT.forEach((v, k) => { view.setFloat32(k * 4, v, true) })
  return bytes
})()

/** Gray levels → values in [0, 1] (float32 of k / 255). */
export function grayToUnit (gray: Uint8Array): Float32Array {
  const out = new Float32Array(gray.length)
  for (let i = 0; i < gray.length; i++) out[i] = UNIT[gray[i]!]!
  return out
}

/** Model input for a batch of 784-value digit images: `input` float32 [N, 1, 28, 28]. */
export function digitsInput (images: readonly Float32Array[]): TensorMap {
  const values = new Float32Array(images.length * 784)
  images.forEach((im, i) => {
    if (im.length !== 784) throw new BadInputError(`digit image ${i} has ${im.length} values, not 784`)
    values.set(im, i * 784)
  })
  return { [DIGITS.input]: makeTensor('float32', [images.length, 1, 28, 28], values) }
}

/**
 * A digits shard as it travels: `gray` uint8 [N, 28, 28], one byte per pixel
 * (a quarter of the float32 input; {@link digitsShardToInput} expands it).
 */
export function digitsShardInput (images: readonly Uint8Array[]): TensorMap {
  const side = DIGITS.side
  const data = new Uint8Array(images.length * side * side)
  images.forEach((im, i) => {
    if (im.length !== side * side) throw new BadInputError(`digit image ${i} has ${im.length} values, not ${side * side}`)
    data.set(im, i * side * side)
  })
  return { [DIGITS.shard]: { dtype: 'uint8', dims: [images.length, side, side], data } }
}

/**
 * The model input for a digits shard's gray levels: `input` float32
 * [N, 1, 28, 28] of k / 255, bit-identical to {@link digitsInput} of
 * {@link digitPixels}. Checks the tensor from another peer before allocating.
 * @throws {BadInputError} unless `gray` is uint8 [N, 28, 28] with N ≥ 1.
 */
export function digitsShardToInput (gray: TensorData): TensorMap {
  const side = DIGITS.side
  const [n, h, w] = gray.dims
  if (gray.dtype !== 'uint8' || gray.dims.length !== 3 || h !== side || w !== side || n === undefined || !Number.isSafeInteger(n) || n < 1 || gray.data.length !== n * side * side) {
    throw new BadInputError(`a digits shard's \`${DIGITS.shard}\` must be uint8 [N, ${side}, ${side}], got ${gray.dtype} ${JSON.stringify(gray.dims)}`)
  }
  const data = new Uint8Array(gray.data.length * 4)
  for (let i = 0; i < gray.data.length; i++) {
    const at = gray.data[i]! * 4
    data[i * 4] = UNIT_BYTES[at]!
    data[i * 4 + 1] = UNIT_BYTES[at + 1]!
    data[i * 4 + 2] = UNIT_BYTES[at + 2]!
    data[i * 4 + 3] = UNIT_BYTES[at + 3]!
  }
  return { [DIGITS.input]: { dtype: 'float32', dims: [n, 1, side, side], data } }
}

export interface DigitPrediction { digit: number, probability: number, probs: number[] }

/** Predictions from logits [N, 10] (softmax computed here, so it works from either output). */
export function digitPredictions (logits: TensorData): DigitPrediction[] {
  if (logits.dims.length !== 2 || logits.dims[1] !== 10) throw new BadInputError(`digits output must be [N, 10], got ${JSON.stringify(logits.dims)}`)
  const v = tensorValues(logits)
  const out: DigitPrediction[] = []
  for (let r = 0; r < logits.dims[0]!; r++) {
    const row = Array.from(v.subarray(r * 10, r * 10 + 10))
    const max = Math.max(...row)
    const exp = row.map(x => Math.exp(x - max))
    const sum = exp.reduce((a, b) => a + b, 0)
    const probs = exp.map(e => e / sum)
    const digit = row.indexOf(max)
    out.push({ digit, probability: probs[digit]!, probs })
  }
  return out
}
