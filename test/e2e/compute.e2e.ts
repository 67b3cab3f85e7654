/**
 * Compute in real Chromium (WASM: headless Chromium here has no GPU
 * adapter): catalog models run in the compute worker and their outputs match
 * the references computed with onnxruntime-node (test/fixtures/<model>/
 * reference.json, made by scripts/make-*-fixtures.ts) under each model's
 * comparison rule; corrupted, unsupported and malformed inputs each give a
 * clear, named error on the page; model bytes fetched once are cached, so a
 * second visit downloads nothing.
 */
import { test, expect, type Page } from '@playwright/test'
import { readFile } from 'node:fs/promises'
import { argmaxRow, compareOutputs } from '../../src/core/compare.ts'
import { decodeTensors, encodeTensors, makeTensor, tensorValues } from '../../src/core/tensors.ts'
import { parseCatalog, type Catalog } from '../../src/compute/catalog.ts'
import type { CompareRule } from '../../src/core/schemas.ts'
import { vadShardInput } from '../../src/compute/shard-task.ts'
import { wavTo16k } from '../../src/compute/models/vad.ts'
import { cspViolations, startRelayProcess, volunteerUrl, watchCsp } from './support/swarm.ts'
import { digitsFixture as digitFiles, postDigits } from './support/digits.ts'

const parsed = parseCatalog(JSON.parse(await readFile('models/catalog.json', 'utf8')))
if (!parsed.ok) throw new Error(parsed.reason)
const catalog: Catalog = parsed.catalog
const rule = (id: string): CompareRule => catalog.models.find(m => m.id === id)!.compare

async function openModels (page: Page): Promise<void> {
  const errors: string[] = []
  page.on('pageerror', e => errors.push(e.message))
  await watchCsp(page.context())
  await page.goto('/#/models')
  await expect(page.getByTestId('model-table')).toBeVisible()
  expect(errors).toEqual([])
}

test('OCR of the fixture image matches the onnxruntime-node reference', async ({ page }) => {
  const reference = JSON.parse(await readFile('test/fixtures/ocr/reference.json', 'utf8')) as { lines: Array<{ text: string, box: { x: number, y: number, width: number, height: number } }> }
  await openModels(page)
  await expect(page.getByTestId('compute-provider')).toHaveAttribute('data-provider', 'wasm')
  await expect(page.getByTestId('compute-threads')).toHaveAttribute('data-threads', /^[1-9]/)
  await page.getByTestId('ocr-file').setInputFiles('test/fixtures/ocr/text.png')
  const lines = page.getByTestId('ocr-line')
  await expect(lines).toHaveCount(reference.lines.length, { timeout: 120_000 })
  const got = await lines.evaluateAll(els => els.map(e => ({ text: e.getAttribute('data-text'), box: JSON.parse(e.getAttribute('data-box')!) as Record<string, number> })))
  expect(got.map(l => l.text)).toEqual(reference.lines.map(l => l.text))
  got.forEach((l, i) => {
    for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(l.box[k]! - reference.lines[i]!.box[k])).toBeLessThan(1)
  })
  await expect(page.locator('[data-testid=model-row][data-model=ocr-det]')).toHaveAttribute('data-state', 'ready')

  // A CPU budget of 2 threads replaces the worker; the same image gives the same text.
  await page.getByTestId('compute-budget').selectOption('2')
  await expect(page.getByTestId('compute-threads')).toHaveAttribute('data-threads', '2')
  await page.getByTestId('ocr-file').setInputFiles('test/fixtures/ocr/text.png')
  await expect(page.locator('[data-testid=model-row][data-model=ocr-det]')).toContainText('wasm × 2', { timeout: 120_000 })
  await expect(lines).toHaveCount(reference.lines.length)
  expect(await lines.evaluateAll(els => els.map(e => e.getAttribute('data-text')))).toEqual(reference.lines.map(l => l.text))
  // The boxes over the image are placed by style properties, which the strict CSP lets through.
  expect(await cspViolations(page)).toEqual([])
})

test('VAD segments of the fixture WAV match the reference; frame probabilities agree under the catalog rule', async ({ page }) => {
  const reference = JSON.parse(await readFile('test/fixtures/vad/reference.json', 'utf8')) as { segments: Array<{ startMs: number, endMs: number }>, probs: number[] }
  const ortErrors: string[] = []
  page.on('console', m => { if (m.type() === 'error' && m.text().includes('onnxruntime')) ortErrors.push(m.text()) })
  await openModels(page)
  await page.getByTestId('vad-file').setInputFiles('test/fixtures/vad/speech.wav')
  const segs = page.getByTestId('vad-segment')
  await expect(segs).toHaveCount(reference.segments.length, { timeout: 120_000 })
  const got = await segs.evaluateAll(els => els.map(e => ({ startMs: Number(e.getAttribute('data-start')), endMs: Number(e.getAttribute('data-end')) })))
  expect(got).toEqual(reference.segments)
  const probs = JSON.parse((await page.getByTestId('vad-timeline').getAttribute('data-probs'))!) as number[]
  const verdict = compareOutputs(rule('vad'), { output: makeTensor('float32', [probs.length], probs) }, { output: makeTensor('float32', [reference.probs.length], reference.probs) })
  expect(verdict).toEqual({ equal: true })
  // The worker's warm-up on zeros is refused by this model (its STFT cannot pad 32 samples): quietly.
  expect(ortErrors).toEqual([])
  expect(await cspViolations(page)).toEqual([])
})

test('a VAD shard computed whole in the worker gives the reference frame probabilities; a cancelled one leaves the worker ready', async ({ page }) => {
  const reference = JSON.parse(await readFile('test/fixtures/vad/reference.json', 'utf8')) as { probs: number[] }
  const input = Buffer.from(vadShardInput(wavTo16k(new Uint8Array(await readFile('test/fixtures/vad/speech.wav'))))).toString('base64')
  await openHarness(page)
  const r = await page.evaluate(async ([i]) => await window.essaimCompute.clientShard('vad', i!), [input])
  expect(r.cancelled).toBe('CancelledError')
  expect(r.busyMs).toBeGreaterThan(0)
  const out = decodeTensors(Buffer.from(r.output, 'base64'))
  if (!out.ok) throw new Error(out.reason)
  const probs = out.tensors.probs!
  expect(probs.dims).toEqual([reference.probs.length])
  expect(compareOutputs(rule('vad'), { output: probs }, { output: makeTensor('float32', [reference.probs.length], reference.probs) })).toEqual({ equal: true })
})

test('a bring-your-own model shows its I/O and reproduces the reference from .npy and JSON', async ({ page }) => {
  const reference = JSON.parse(await readFile('test/fixtures/byo/reference.json', 'utf8')) as { y: { dims: number[], values: number[] } }
  await openModels(page)
  await page.getByTestId('byo-model-file').setInputFiles('test/fixtures/byo/affine.onnx')
  await expect(page.getByTestId('byo-input')).toHaveAttribute('data-name', 'x')
  await expect(page.getByTestId('byo-io')).toContainText('[N, 3]')
  await expect(page.getByTestId('byo-output-info')).toHaveAttribute('data-name', 'y')
  for (const file of ['input.npy', 'input.json']) {
    await page.getByTestId('byo-input-files').setInputFiles(`test/fixtures/byo/${file}`)
    const out = page.getByTestId('byo-output')
    await expect(out).toHaveAttribute('data-dims', JSON.stringify(reference.y.dims))
    expect(JSON.parse((await out.getAttribute('data-values'))!)).toEqual(reference.y.values)
  }
  // A wrong input shape: [1, 2] for an [N, 3] input.
  await page.getByTestId('byo-input-files').setInputFiles({ name: 'x.json', mimeType: 'application/json', buffer: Buffer.from('[[1, 2]]') })
  await expect(page.getByTestId('byo-run-error')).toHaveAttribute('data-error-name', 'InputShapeError')
  await expect(page.getByTestId('byo-run-error')).toContainText('does not have the shape the model expects')
  await expect(page.getByTestId('byo-run-error')).toContainText('[N, 3]')
})

test('unsupported and garbage .onnx files, and a non-image upload, give clear errors', async ({ page }) => {
  await openModels(page)
  await page.getByTestId('byo-model-file').setInputFiles('test/fixtures/byo/unsupported-op.onnx')
  await expect(page.getByTestId('byo-model-error')).toHaveAttribute('data-error-name', 'UnsupportedModelError')
  await expect(page.getByTestId('byo-model-error')).toContainText(/unsupported operator or opset: .*EssaimNoSuchOperator/)
  await page.getByTestId('byo-model-file').setInputFiles('test/fixtures/byo/garbage.onnx')
  await expect(page.getByTestId('byo-model-error')).toHaveAttribute('data-error-name', 'UnsupportedModelError')
  await expect(page.getByTestId('byo-model-error')).toContainText('not a valid ONNX model')
  await page.getByTestId('ocr-file').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are notes, not a picture') })
  await expect(page.getByTestId('ocr-error')).toHaveAttribute('data-error-name', 'BadInputError')
  await expect(page.getByTestId('ocr-error')).toContainText('not an image this browser can decode')
  await page.getByTestId('vad-file').setInputFiles('test/fixtures/ocr/text.png')
  await expect(page.getByTestId('vad-error')).toContainText('not a WAV file')
})

test('corrupted model bytes from the origin are refused with a hash mismatch', async ({ page }) => {
  await page.route('**/models/vad.onnx', async route => {
    const res = await route.fetch()
    const body = await res.body()
    const mid = body.length >> 1
    body[mid] = body[mid]! ^ 0xff
    await route.fulfill({ response: res, body })
  })
  await openModels(page)
  await page.getByTestId('vad-file').setInputFiles('test/fixtures/vad/speech.wav')
  await expect(page.getByTestId('vad-error')).toHaveAttribute('data-error-name', 'ModelHashMismatchError')
  await expect(page.getByTestId('vad-error')).toContainText('sent bytes that do not hash to 2623a2953f6f')
  await expect(page.locator('[data-testid=model-row][data-model=vad]')).toHaveAttribute('data-state', 'error')
})

/** The harness page (bench/compute.html) exposes the ComputeClient to tests. */
async function openHarness (page: Page): Promise<void> {
  await page.goto('/bench/compute.html')
  await expect(page.getByTestId('harness-ready')).toHaveAttribute('data-ready', 'true')
}

const digitsRaw = new Uint8Array(await readFile('test/fixtures/digits/inputs.f32'))
const digitsFixture = {
  input: Buffer.from(encodeTensors({ input: { dtype: 'float32', dims: [digitsRaw.length / 3136, 1, 28, 28], data: digitsRaw } })).toString('base64'),
  reference: JSON.parse(await readFile('test/fixtures/digits/reference.json', 'utf8')) as { predictions: number[], logits: number[][] }
}

test('digits predictions in the worker match the onnxruntime-node reference under the argmax rule, batched or not', async ({ page }) => {
  const { input, reference } = digitsFixture
  await openHarness(page)
  const out = await page.evaluate(async ([i]) => await window.essaimCompute.clientRun('digits', i!, { threads: 2 }), [input])
  if (!out.ok) throw new Error(`${out.name}: ${out.message}`)
  expect(out.provider).toBe('wasm')
  expect(out.threads).toBe(2) // cross-origin isolated: WASM threads are on
  const decoded = decodeTensors(Buffer.from(out.output, 'base64'))
  if (!decoded.ok) throw new Error(decoded.reason)
  const logits = decoded.tensors.logits!
  const refLogits = makeTensor('float32', [reference.logits.length, 10], reference.logits.flat())
  expect(compareOutputs(rule('digits'), { logits }, { logits: refLogits })).toEqual({ equal: true })
  const predicted = Array.from({ length: reference.predictions.length }, (_, r) => argmaxRow(tensorValues(logits), r * 10, 10))
  expect(predicted).toEqual(reference.predictions)

  // A worker whose runtime was started before any model (a volunteer's, once it may compute) gives the same bytes.
  const prepared = await page.evaluate(async ([i]) => await window.essaimCompute.clientRun('digits', i!, { threads: 2, prepare: true }), [input])
  if (!prepared.ok) throw new Error(`${prepared.name}: ${prepared.message}`)
  expect(prepared.prepared).toEqual({ provider: 'wasm', threads: 2 })
  expect(prepared.output).toBe(out.output)

  // The same inputs as 4 concurrent runs: the worker batches them; WASM results are identical to the single run.
  const split = await page.evaluate(async ([i]) => await window.essaimCompute.clientRunSplit('digits', i!, 4), [input])
  expect(Math.max(...split.batched)).toBeGreaterThan(1)
  const rows = split.outputs.flatMap(o => {
    const d = decodeTensors(Buffer.from(o, 'base64'))
    if (!d.ok) throw new Error(d.reason)
    return Array.from(tensorValues(d.tensors.logits!))
  })
  expect(rows).toEqual(Array.from(tensorValues(logits)).map(v => Math.fround(v)))
})

test('the worker re-checks the hash: corrupted bytes never reach a session; a cancelled run rejects with CancelledError', async ({ page }) => {
  const { input } = digitsFixture
  await openHarness(page)
  const out = await page.evaluate(async ([i]) => await window.essaimCompute.clientRun('digits', i!, { corrupt: true }), [input])
  expect(out).toMatchObject({ ok: false, name: 'ModelHashMismatchError' })
  expect((out as { message: string }).message).toMatch(/expected b9d9905736f3.*refusing to load them/)
  expect(await page.evaluate(async () => await window.essaimCompute.clientCancel('ocr-det'))).toBe('CancelledError')
})

test('the worker honours aborts: runs aborted while queued get no result, the run before them completes', async ({ page }) => {
  await openHarness(page)
  expect(await page.evaluate(async () => await window.essaimCompute.workerCancelQueued('ocr-det'))).toEqual(['result', 'CancelledError', 'CancelledError'])
})

test('the Models page recognises a drawn digit', async ({ page }) => {
  await openModels(page)
  const pad = page.getByLabel('Draw a digit here')
  await pad.scrollIntoViewIfNeeded()
  const box = (await pad.boundingBox())!
  // A vertical stroke: a "1".
  await page.mouse.move(box.x + 100, box.y + 30)
  await page.mouse.down()
  for (let y = 30; y <= 170; y += 5) await page.mouse.move(box.x + 100, box.y + y)
  await page.mouse.up()
  await page.getByTestId('digits-run').click()
  await expect(page.getByTestId('digits-result')).toHaveAttribute('data-digit', '1', { timeout: 60_000 })
  expect(await cspViolations(page)).toEqual([])
})

test('OCR model outputs in the browser agree with onnxruntime-node under the catalog rule (det map and rec probabilities)', async ({ page }) => {
  const { nodeRunner } = await import('../unit/compute/support/ort-node.ts')
  const { detInput, dbBoxes, recInput } = await import('../../src/compute/models/ocr.ts')
  const { crop } = await import('../../src/compute/models/image.ts')
  const ref = JSON.parse(await readFile('test/fixtures/ocr/reference.json', 'utf8')) as { width: number, height: number }
  const image = { width: ref.width, height: ref.height, data: new Uint8Array(await readFile('test/fixtures/ocr/text.rgba')) }
  const runner = await nodeRunner()
  await openHarness(page)
  try {
    const det = detInput(image)
    const box = dbBoxes(Object.values(await runner.run('ocr-det', det.input))[0]!)[0]!
    const piece = crop(image, Math.round(box.x * det.scaleX), Math.round(box.y * det.scaleY), Math.round(box.width * det.scaleX), Math.round(box.height * det.scaleY))
    for (const [id, inputs] of [['ocr-det', det.input], ['ocr-rec', recInput(piece)]] as const) {
      const expected = await runner.run(id, inputs)
      const out = await page.evaluate(async ([m, i]) => await window.essaimCompute.clientRun(m!, i!, { threads: 2 }), [id, Buffer.from(encodeTensors(inputs)).toString('base64')])
      if (!out.ok) throw new Error(`${id}: ${out.name}: ${out.message}`)
      const got = decodeTensors(Buffer.from(out.output, 'base64'))
      if (!got.ok) throw new Error(got.reason)
      expect(compareOutputs(rule(id), got.tensors, expected), id).toEqual({ equal: true })
    }
  } finally {
    await runner.close()
  }
})

test('a second visit takes the model from this browser\'s cache: it is not downloaded again', async ({ browser }) => {
  const { files } = await digitFiles(16)
  const relay = await startRelayProcess()
  const context = await browser.newContext()
  try {
    /** Opens the app in this profile; every request for a model file it makes lands in `downloads`. */
    const visit = async (downloads: string[]): Promise<Page> => {
      const page = await context.newPage()
      page.on('request', r => { const path = new URL(r.url()).pathname; if (path.startsWith('/models/')) downloads.push(path) })
      await page.goto(volunteerUrl([relay.addr]))
      await expect(page.getByTestId('own-peer-id')).not.toBeEmpty({ timeout: 30_000 })
      return page
    }
    // Posting 16 digits (2 shards, 1 canary) makes the requester run the canary, so it loads the model.
    const first: string[] = []
    const page = await visit(first)
    await postDigits(page, files, { perShard: 8 })
    expect(first).toEqual(['/models/digits.onnx'])
    await page.close()

    const second: string[] = []
    const again = await visit(second)
    await postDigits(again, files.slice().reverse(), { perShard: 8 })
    expect(second).toEqual([])
  } finally {
    await context.close()
    await relay.kill()
  }
})

test('the Models page takes models from this browser\'s cache once its peer is up: a second visit downloads nothing', async ({ browser }) => {
  const { files } = await digitFiles(1)
  const relay = await startRelayProcess()
  const context = await browser.newContext()
  try {
    /** Opens the Models page of this profile with its peer up and reads a digit; returns the model files it requested. */
    const visit = async (): Promise<string[]> => {
      const downloads: string[] = []
      const page = await context.newPage()
      page.on('request', r => { const path = new URL(r.url()).pathname; if (path.startsWith('/models/')) downloads.push(path) })
      await page.goto(volunteerUrl([relay.addr]))
      await expect(page.getByTestId('own-peer-id')).not.toBeEmpty({ timeout: 30_000 })
      await page.goto(page.url().replace(/#.*$/, '#/models'))
      await page.getByTestId('digits-file').setInputFiles(files[0]!)
      await expect(page.getByTestId('digits-result')).toHaveAttribute('data-digit', /^\d$/, { timeout: 60_000 })
      await page.close()
      return downloads
    }
    expect(await visit()).toEqual(['/models/digits.onnx'])
    expect(await visit()).toEqual([])
  } finally {
    await context.close()
    await relay.kill()
  }
})
