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
 */
import { makeTensor, tensorValues, type TensorData, type TensorMap } from '../../core/tensors.ts'
import { BadInputError } from '../errors.ts'
import { grayscale, resizeBilinear, type RgbaImage } from './image.ts'

export const DIGITS = { model: 'digits', input: 'input', side: 28, box: 20 } as const

/** 784 values in [0, 1], white digit on black, centred by mass. */
export function digitPixels (img: RgbaImage): Float32Array {
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
  if (maxX < 0) throw new BadInputError('no digit found: the image is blank')
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
      boxRgba.set([v, v, v, 255], (y * bw + x) * 4)
    }
  }
  const small = resizeBilinear({ width: bw, height: bh, data: boxRgba }, tw, th)
  let mass = 0; let cx = 0; let cy = 0
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) { const v = small.data[(y * tw + x) * 4]!; mass += v; cx += v * x; cy += v * y }
  const ox = Math.round(DIGITS.side / 2 - (mass > 0 ? cx / mass : tw / 2) - 0.5)
  const oy = Math.round(DIGITS.side / 2 - (mass > 0 ? cy / mass : th / 2) - 0.5)
  const out = new Float32Array(DIGITS.side * DIGITS.side)
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const X = x + ox; const Y = y + oy
      if (X >= 0 && Y >= 0 && X < DIGITS.side && Y < DIGITS.side) out[Y * DIGITS.side + X] = small.data[(y * tw + x) * 4]! / 255
    }
  }
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
