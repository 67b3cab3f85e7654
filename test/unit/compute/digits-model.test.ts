/**
 * models/digits.onnx, as shipped: it must meet the accuracy bar on the
 * held-out split (the same split scripts/train-digits.ts trains around, via
 * its exported loader; importing the script does not train), expose the I/O
 * contract the compute layer relies on (input `input` [N,1,28,28], outputs
 * `logits` and `probs` [N,10], dynamic N), match the sha256 its training log
 * reports, and still produce what test/fixtures/digits/reference.json says,
 * so fixtures and model can never drift apart silently.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import * as ort from 'onnxruntime-node'
import {
  DIGITS_ACCURACY_BAR, DIGITS_CLASSES, DIGITS_HELD_OUT_PER_CLASS, DIGITS_PIXELS, argmax, loadDigitsSplit, type DigitsSplit
} from '../../../scripts/train-digits.ts'
import {
  DIGITS_FIXTURE_COUNT, DIGITS_FIXTURE_DIR, DIGITS_MODEL_PATH, float32LeBytes, runDigits, type DigitsReference
} from '../../../scripts/make-digits-fixtures.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

let modelBytes: Uint8Array
let split: DigitsSplit
let session: ort.InferenceSession

async function logitsOf (images: Float32Array, n: number): Promise<Float32Array> {
  const out = await session.run({ input: new ort.Tensor('float32', images, [n, 1, 28, 28]) })
  expect(out.logits!.dims).toEqual([n, DIGITS_CLASSES])
  return out.logits!.data as Float32Array
}

beforeAll(async () => {
  modelBytes = readFileSync(DIGITS_MODEL_PATH)
  split = loadDigitsSplit()
  session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['cpu'] })
})

afterAll(async () => {
  await session?.release()
})

describe('models/digits.onnx', () => {
  it('declares input `input` and outputs `logits`, `probs`', () => {
    expect(session.inputNames).toEqual(['input'])
    expect(session.outputNames).toEqual(['logits', 'probs'])
  })

  it('has the sha256 its training log reports', () => {
    const log = readFileSync(join(root, 'models', 'digits.train.log'), 'utf8')
    const reported = /^onnx_sha256: ([0-9a-f]{64})$/m.exec(log)?.[1]
    expect(reported).toBe(sha256(modelBytes))
    expect(log).toMatch(/— PASS$/m)
  })

  it(`reaches ≥ ${DIGITS_ACCURACY_BAR * 100} % on the full held-out split`, async () => {
    const { heldOut } = split
    expect(heldOut.count).toBe(DIGITS_HELD_OUT_PER_CLASS * DIGITS_CLASSES)
    const logits = await logitsOf(heldOut.images, heldOut.count)
    let correct = 0
    for (let i = 0; i < heldOut.count; i++) if (argmax(logits, i * DIGITS_CLASSES) === heldOut.labels[i]) correct++
    expect(correct / heldOut.count).toBeGreaterThanOrEqual(DIGITS_ACCURACY_BAR)
  })

  it('held-out and training splits share no image', () => {
    const key = (set: DigitsSplit['train'], i: number): string =>
      sha256(new Uint8Array(set.images.buffer, set.images.byteOffset + i * DIGITS_PIXELS * 4, DIGITS_PIXELS * 4))
    const train = new Set(Array.from({ length: split.train.count }, (_, i) => key(split.train, i)))
    const leaked = Array.from({ length: split.heldOut.count }, (_, i) => key(split.heldOut, i)).filter(k => train.has(k))
    expect(leaked).toEqual([])
  })

  it('gives `probs` = softmax(logits), and the same logits for any batch size', async () => {
    const n = 7
    const images = split.heldOut.images.slice(0, n * DIGITS_PIXELS)
    const out = await session.run({ input: new ort.Tensor('float32', images, [n, 1, 28, 28]) })
    const logits = out.logits!.data as Float32Array
    const probs = out.probs!.data as Float32Array
    expect(out.probs!.dims).toEqual([n, DIGITS_CLASSES])
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(i * DIGITS_CLASSES, (i + 1) * DIGITS_CLASSES))
      const max = Math.max(...row)
      const sum = row.reduce((a, z) => a + Math.exp(z - max), 0)
      for (let k = 0; k < DIGITS_CLASSES; k++) {
        expect(probs[i * DIGITS_CLASSES + k]!).toBeCloseTo(Math.exp(row[k]! - max) / sum, 5)
      }
      const single = await logitsOf(images.slice(i * DIGITS_PIXELS, (i + 1) * DIGITS_PIXELS), 1)
      for (let k = 0; k < DIGITS_CLASSES; k++) expect(Math.abs(single[k]! - row[k]!)).toBeLessThanOrEqual(1e-5)
    }
  })
})

describe('test/fixtures/digits', () => {
  const read = (name: string): Buffer => readFileSync(join(DIGITS_FIXTURE_DIR, name))

  it('holds the first held-out images and their labels', () => {
    const inputs = read('inputs.f32')
    const labels = JSON.parse(read('labels.json').toString('utf8')) as number[]
    expect(inputs.length).toBe(DIGITS_FIXTURE_COUNT * DIGITS_PIXELS * 4)
    expect(Buffer.from(float32LeBytes(split.heldOut.images.subarray(0, DIGITS_FIXTURE_COUNT * DIGITS_PIXELS))).equals(inputs)).toBe(true)
    expect(labels).toEqual(Array.from(split.heldOut.labels.subarray(0, DIGITS_FIXTURE_COUNT)))
    // interleaved split: every digit appears equally often
    for (let d = 0; d < DIGITS_CLASSES; d++) expect(labels.filter(l => l === d).length).toBe(DIGITS_FIXTURE_COUNT / DIGITS_CLASSES)
  })

  it('reference.json matches a fresh onnxruntime-node run of the shipped model', async () => {
    const reference = JSON.parse(read('reference.json').toString('utf8')) as DigitsReference
    const inputs = read('inputs.f32')
    expect(reference.modelSha256).toBe(sha256(modelBytes))
    expect(reference.inputsSha256).toBe(sha256(inputs))
    expect(reference.count).toBe(DIGITS_FIXTURE_COUNT)
    const view = new DataView(inputs.buffer, inputs.byteOffset, inputs.byteLength)
    const images = Float32Array.from({ length: inputs.length / 4 }, (_, i) => view.getFloat32(i * 4, true))
    const logits = await runDigits(modelBytes, images, reference.count, reference.intraOpNumThreads)
    const predictions = Array.from({ length: reference.count }, (_, i) => argmax(logits, i * DIGITS_CLASSES))
    expect(predictions).toEqual(reference.predictions)
    let maxDiff = 0
    for (let i = 0; i < reference.count; i++) {
      for (let k = 0; k < DIGITS_CLASSES; k++) maxDiff = Math.max(maxDiff, Math.abs(logits[i * DIGITS_CLASSES + k]! - reference.logits[i]![k]!))
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-4)
  })
})
