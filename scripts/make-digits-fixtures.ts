/**
 * Writes test/fixtures/digits/: a small, fixed slice of the Digits held-out
 * split and what onnxruntime-node (CPU) computes for it with
 * models/digits.onnx, so other tests (compute worker, scheduler, verifier,
 * e2e) can run the real model on real inputs and know the answer without
 * loading the `mnist` package or re-deriving the split.
 *
 * Files:
 * - `inputs.f32`: the first {@link DIGITS_FIXTURE_COUNT} held-out images,
 *   float32 little-endian, row-major [count, 1, 28, 28], values in [0, 1].
 * - `labels.json`: their true labels, a JSON array of `count` digits.
 * - `reference.json`: the model's sha256, the inputs' sha256, the ORT
 *   version and thread count used, argmax predictions and logits ([count][10],
 *   float32 values written exactly as JSON numbers).
 *
 * The held-out split interleaves classes, so the slice holds 20 of each digit.
 * Usage: npx tsx scripts/make-digits-fixtures.ts (after train-digits.ts).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as ort from 'onnxruntime-node'
import { DIGITS_CLASSES, DIGITS_PIXELS, DIGITS_SIDE, argmax, loadDigitsSplit } from './train-digits.ts'

/** Number of held-out images in the fixture. */
export const DIGITS_FIXTURE_COUNT = 200

const root = fileURLToPath(new URL('..', import.meta.url))
/** Where the exported model lives. */
export const DIGITS_MODEL_PATH = join(root, 'models', 'digits.onnx')
/** Where the fixtures are written. */
export const DIGITS_FIXTURE_DIR = join(root, 'test', 'fixtures', 'digits')

/** Shape of `reference.json`. */
export interface DigitsReference {
  model: string
  modelSha256: string
  inputsSha256: string
  count: number
  inputName: string
  inputShape: number[]
  outputName: string
  runtime: string
  intraOpNumThreads: number
  predictions: number[]
  logits: number[][]
}

/** Little-endian bytes of a float32 array, independent of host endianness. */
export function float32LeBytes (values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
  return out
}

/** Run `count` images through a session created from `modelBytes`; returns the `logits` output. */
export async function runDigits (modelBytes: Uint8Array, images: Float32Array, count: number, intraOpNumThreads = 1): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads, executionProviders: ['cpu'] })
  try {
    const input = new ort.Tensor('float32', images, [count, 1, DIGITS_SIDE, DIGITS_SIDE])
    const out = await session.run({ input })
    const logits = out.logits?.data
    if (!(logits instanceof Float32Array) || logits.length !== count * DIGITS_CLASSES) {
      throw new Error('digits model produced no float32 `logits` of the expected size')
    }
    return logits
  } finally {
    await session.release()
  }
}

/** JSON with one key per line and one logits row per line (readable diffs). */
function formatReference (r: DigitsReference): string {
  const fields = Object.entries(r).map(([key, value]) => key === 'logits'
    ? `  "logits": [\n${r.logits.map(row => `    ${JSON.stringify(row)}`).join(',\n')}\n  ]`
    : `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
  return `{\n${fields.join(',\n')}\n}\n`
}

async function main (): Promise<void> {
  const modelBytes = readFileSync(DIGITS_MODEL_PATH)
  const { heldOut } = loadDigitsSplit()
  const count = DIGITS_FIXTURE_COUNT
  const images = heldOut.images.slice(0, count * DIGITS_PIXELS)
  const labels = Array.from(heldOut.labels.subarray(0, count))
  const inputBytes = float32LeBytes(images)
  const threads = 1
  const logits = await runDigits(modelBytes, images, count, threads)

  const reference: DigitsReference = {
    model: 'models/digits.onnx',
    modelSha256: createHash('sha256').update(modelBytes).digest('hex'),
    inputsSha256: createHash('sha256').update(inputBytes).digest('hex'),
    count,
    inputName: 'input',
    inputShape: [count, 1, DIGITS_SIDE, DIGITS_SIDE],
    outputName: 'logits',
    runtime: `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common} cpu`,
    intraOpNumThreads: threads,
    predictions: Array.from({ length: count }, (_, i) => argmax(logits, i * DIGITS_CLASSES)),
    logits: Array.from({ length: count }, (_, i) => Array.from(logits.subarray(i * DIGITS_CLASSES, (i + 1) * DIGITS_CLASSES)))
  }
  mkdirSync(DIGITS_FIXTURE_DIR, { recursive: true })
  writeFileSync(join(DIGITS_FIXTURE_DIR, 'inputs.f32'), inputBytes)
  writeFileSync(join(DIGITS_FIXTURE_DIR, 'labels.json'), JSON.stringify(labels) + '\n')
  writeFileSync(join(DIGITS_FIXTURE_DIR, 'reference.json'), formatReference(reference))
  const correct = reference.predictions.filter((p, i) => p === labels[i]).length
  process.stdout.write(`wrote ${DIGITS_FIXTURE_DIR}: ${count} images, model accuracy on them ${correct}/${count}, ` +
    `model sha256 ${reference.modelSha256}, inputs sha256 ${reference.inputsSha256}\n`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch(err => { console.error(err); process.exit(1) })
}
