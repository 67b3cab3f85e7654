/**
 * Images as pipelines see them: RGBA bytes, row-major, no colour management.
 * Decoding (browser only) goes through createImageBitmap + OffscreenCanvas,
 * which work in a worker and never block the UI thread; everything after
 * decoding (resize, crop, grayscale) is plain TypeScript so Node tests and
 * browsers compute the very same input tensors.
 */
import { BadInputError } from '../errors.ts'

export interface RgbaImage {
  width: number
  height: number
  /** width × height × 4 bytes, RGBA. */
  data: Uint8Array | Uint8ClampedArray
}

/** Largest side we decode: bigger photos are refused rather than risking memory. */
export const MAX_IMAGE_SIDE = 8192

/**
 * Decodes an uploaded file with the browser's image decoders.
 * @throws {BadInputError} if it is not an image the browser can decode, or is too large.
 */
export async function decodeImage (blob: Blob): Promise<RgbaImage> {
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' })
  } catch {
    throw new BadInputError(`not an image this browser can decode (${blob.type === '' ? 'unknown type' : blob.type}, ${blob.size} bytes): upload a PNG, JPEG, WebP or GIF`, { code: 'not-image', params: { type: blob.type, bytes: blob.size } })
  }
  try {
    const { width, height } = bitmap
    if (width === 0 || height === 0) throw new BadInputError('the image is empty', { code: 'image-empty' })
    if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) throw new BadInputError(`the image is ${width}×${height}; the limit is ${MAX_IMAGE_SIDE} pixels a side`, { code: 'image-too-large', params: { width, height, side: MAX_IMAGE_SIDE } })
    const ctx = canvasFor(width, height)
    if (ctx === null) throw new BadInputError('this browser cannot read image pixels (no 2D canvas)', { code: 'no-canvas' })
    // Nothing awaited from here to the read: decodes in flight together may share the small canvas.
    ctx.drawImage(bitmap, 0, 0)
    return { width, height, data: ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data }
  } finally {
    bitmap.close()
  }
}

/** Images up to this many pixels are drawn on one kept canvas; larger ones get their own, freed after. */
const SMALL_CANVAS_PIXELS = 512 * 512
let small: OffscreenCanvasRenderingContext2D | null | undefined

/**
 * A cleared 2D context of exactly `width` × `height`. Creating a canvas and
 * its context per image was a tenth of the time reading a 12,288-image
 * digits job took; small images share one.
 */
function canvasFor (width: number, height: number): OffscreenCanvasRenderingContext2D | null {
  if (width * height > SMALL_CANVAS_PIXELS) return new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })
  small ??= new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })
  if (small === null) return null
  const canvas = small.canvas
  // A new size resets the bitmap (transparent) and the context's state; the same size only needs clearing.
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height } else small.clearRect(0, 0, width, height)
  return small
}

/** Bilinear resize (pixel centres aligned, as OpenCV's INTER_LINEAR). */
export function resizeBilinear (img: RgbaImage, width: number, height: number): RgbaImage {
  const out = new Uint8Array(width * height * 4)
  const sx = img.width / width
  const sy = img.height / height
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1)
    const y0 = Math.floor(fy)
    const y1 = Math.min(y0 + 1, img.height - 1)
    const wy = fy - y0
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1)
      const x0 = Math.floor(fx)
      const x1 = Math.min(x0 + 1, img.width - 1)
      const wx = fx - x0
      for (let c = 0; c < 4; c++) {
        const a = img.data[(y0 * img.width + x0) * 4 + c]!
        const b = img.data[(y0 * img.width + x1) * 4 + c]!
        const d = img.data[(y1 * img.width + x0) * 4 + c]!
        const e = img.data[(y1 * img.width + x1) * 4 + c]!
        out[(y * width + x) * 4 + c] = Math.round((a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy)
      }
    }
  }
  return { width, height, data: out }
}

/** The pixels inside an integer rectangle (clamped to the image). */
export function crop (img: RgbaImage, x: number, y: number, width: number, height: number): RgbaImage {
  const x0 = Math.max(0, Math.floor(x))
  const y0 = Math.max(0, Math.floor(y))
  const x1 = Math.min(img.width, Math.ceil(x + width))
  const y1 = Math.min(img.height, Math.ceil(y + height))
  const w = Math.max(0, x1 - x0)
  const h = Math.max(0, y1 - y0)
  const out = new Uint8Array(w * h * 4)
  for (let r = 0; r < h; r++) out.set(img.data.subarray(((y0 + r) * img.width + x0) * 4, ((y0 + r) * img.width + x0 + w) * 4), r * w * 4)
  return { width: w, height: h, data: out }
}

/** Luma (ITU-R BT.601) of each pixel in 0..255, alpha composited over white. */
export function grayscale (img: RgbaImage): Float32Array {
  const out = new Float32Array(img.width * img.height)
  for (let i = 0; i < out.length; i++) {
    const a = img.data[i * 4 + 3]! / 255
    const l = 0.299 * img.data[i * 4]! + 0.587 * img.data[i * 4 + 1]! + 0.114 * img.data[i * 4 + 2]!
    out[i] = l * a + 255 * (1 - a)
  }
  return out
}
