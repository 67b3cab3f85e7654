import { describe, expect, it } from 'vitest'
import { makeTensor } from '../../../src/core/tensors.ts'
import { digitPixels, digitPredictions, digitsInput } from '../../../src/compute/models/digits.ts'

/** A w×h RGBA image, `ink` pixels dark on a light background (or the reverse). */
function drawing (w: number, h: number, ink: (x: number, y: number) => boolean, darkOnLight = true): { width: number, height: number, data: Uint8Array } {
  const data = new Uint8Array(w * h * 4)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = ink(x, y) === darkOnLight ? 0 : 255
      data.set([v, v, v, 255], (y * w + x) * 4)
    }
  }
  return { width: w, height: h, data }
}

function centreOfMass (p: Float32Array): [number, number] {
  let m = 0; let cx = 0; let cy = 0
  p.forEach((v, i) => { m += v; cx += v * (i % 28); cy += v * Math.floor(i / 28) })
  return [cx / m, cy / m]
}

describe('digit preprocessing (MNIST conventions)', () => {
  // A vertical bar, like a "1", drawn off-centre on a 200×200 white canvas.
  const bar = (x: number, y: number): boolean => x >= 30 && x < 50 && y >= 20 && y < 120

  it('inverts dark-on-light drawings, fits the digit in 20 px, centres its mass', () => {
    const p = digitPixels(drawing(200, 200, bar))
    expect(p).toHaveLength(784)
    expect(Math.max(...p)).toBeLessThanOrEqual(1)
    expect(p[0]).toBe(0) // background is black after inversion
    const rows = new Set<number>()
    p.forEach((v, i) => { if (v > 0.5) rows.add(Math.floor(i / 28)) })
    expect(rows.size).toBe(20)
    const [cx, cy] = centreOfMass(p)
    expect(Math.abs(cx - 13.5)).toBeLessThan(1)
    expect(Math.abs(cy - 13.5)).toBeLessThan(1)
  })
  it('gives the same tensor for light-on-dark input', () => {
    expect(digitPixels(drawing(200, 200, bar, false))).toEqual(digitPixels(drawing(200, 200, bar)))
  })
  it('refuses a blank image', () => {
    expect(() => digitPixels(drawing(50, 50, () => false))).toThrow(/no digit found/)
  })
  it('batches inputs and turns logits into predictions', () => {
    const input = digitsInput([new Float32Array(784), new Float32Array(784).fill(1)])
    expect(input.input!.dims).toEqual([2, 1, 28, 28])
    const preds = digitPredictions(makeTensor('float32', [2, 10], [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0]))
    expect(preds.map(p => p.digit)).toEqual([3, 1])
    expect(preds[0]!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
    expect(preds[0]!.probability).toBeGreaterThan(0.9)
  })
})
