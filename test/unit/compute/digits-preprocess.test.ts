import { describe, expect, it } from 'vitest'
import { decodeTensors, encodeTensors, makeTensor, type TensorMap } from '../../../src/core/tensors.ts'
import { computeShard } from '../../../src/compute/shard-task.ts'
import { packShardInput } from '../../../src/core/packed-input.ts'
import {
  digitGray, digitPixels, digitPredictions, digitsInput, digitsShardInput, digitsShardToInput, grayToUnit
} from '../../../src/compute/models/digits.ts'

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

describe('digits shards carry gray levels', () => {
  // Every level 0–255 (784 pixels: the levels three times over, then 16 more).
  const levels = Uint8Array.from({ length: 784 }, (_, i) => i % 256)

  it('expands every one of the 256 levels to float32(k / 255), bit for bit', () => {
    const input = digitsShardToInput(digitsShardInput([levels]).gray!).input!
    expect(input.dtype).toBe('float32')
    expect(input.dims).toEqual([1, 1, 28, 28])
    const view = new DataView(input.data.buffer, input.data.byteOffset, input.data.byteLength)
    for (let k = 0; k < 256; k++) {
      const expected = new DataView(new Float32Array([k / 255]).buffer).getUint32(0, true)
      expect(view.getUint32(k * 4, true), `level ${k}`).toBe(expected)
      expect(view.getFloat32(k * 4, true)).toBe(Math.fround(k / 255))
    }
  })
  it('gives the same encoded model input as the float pixels did', () => {
    const a = Uint8Array.from({ length: 784 }, (_, i) => (i * 37 + 11) % 256)
    const floats = encodeTensors(digitsInput([grayToUnit(levels), grayToUnit(a)]))
    const expanded = encodeTensors(digitsShardToInput(digitsShardInput([levels, a]).gray!))
    expect(expanded).toEqual(floats)
  })
  it('digitPixels is the levels / 255', () => {
    // A slanted stroke: the resize leaves many intermediate levels.
    const img = drawing(97, 131, (x, y) => Math.abs(x - 20 - y * 0.4) < 6 && y > 10 && y < 120)
    const gray = digitGray(img)
    expect(new Set(gray).size).toBeGreaterThan(3)
    expect(digitPixels(img)).toEqual(Float32Array.from(gray, v => v / 255))
  })
  it('refuses a gray tensor of the wrong type or shape', () => {
    const ok = digitsShardInput([levels]).gray!
    expect(() => digitsShardToInput({ ...ok, dtype: 'int8' })).toThrow(/uint8 \[N, 28, 28\]/)
    expect(() => digitsShardToInput({ ...ok, dims: [1, 1, 28, 28] })).toThrow(/uint8 \[N, 28, 28\]/)
    expect(() => digitsShardToInput({ ...ok, dims: [2, 28, 28] })).toThrow(/uint8 \[N, 28, 28\]/)
    expect(() => digitsShardToInput({ ...ok, dims: [0, 28, 28], data: new Uint8Array(0) })).toThrow(/uint8 \[N, 28, 28\]/)
    expect(() => digitsShardInput([new Uint8Array(783)])).toThrow(/783 values/)
  })
  it('computeShard hands the model the float input, and runs a float shard as it is', async () => {
    const seen: Uint8Array[] = []
    const run = async (feeds: TensorMap): Promise<TensorMap> => { seen.push(encodeTensors(feeds)); return { out: makeTensor('float32', [1], [0]) } }
    await computeShard('digits', encodeTensors(digitsShardInput([levels])), run)
    expect(seen[0]).toEqual(encodeTensors(digitsInput([grayToUnit(levels)])))
    const floats = encodeTensors(digitsInput([grayToUnit(levels)]))
    await computeShard('digits', floats, run)
    expect(seen[1]).toEqual(floats)
    const decoded = decodeTensors(seen[0]!)
    expect(decoded.ok && decoded.tensors.input?.dims).toEqual([1, 1, 28, 28])
    await expect(computeShard('digits', encodeTensors({ gray: makeTensor('float32', [1, 28, 28], grayToUnit(levels)) }), run)).rejects.toThrow(/uint8/)
  })

  it('a packed digits shard gives the model the same input, and counts its images', async () => {
    const seen: Uint8Array[] = []
    const run = async (feeds: TensorMap): Promise<TensorMap> => { seen.push(encodeTensors(feeds)); return { out: makeTensor('float32', [1], [0]) } }
    const plain = encodeTensors(digitsShardInput(Array.from({ length: 64 }, () => levels)))
    const packed = await packShardInput(plain)
    expect(packed.length).toBeLessThan(plain.length / 2)
    const a = await computeShard('digits', plain, run)
    const b = await computeShard('digits', packed, run)
    expect(seen[1]).toEqual(seen[0])
    expect(b).toEqual(a)
    expect(b.samples).toEqual({ count: 64, unit: 'images' })
    await expect(computeShard('digits', packed.subarray(0, packed.length - 3), run)).rejects.toThrow(/shard input/)
  })
})
