/**
 * The digits job the e2e suites share: held-out MNIST digits as PNG files
 * with what onnxruntime-node predicts for each after the app's own
 * preprocessing, and the page steps to contribute, post and follow a job.
 */
import { expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { digitPixels } from '../../../src/compute/models/digits.ts'
import { suggestedPerShard } from '../../../src/swarm/job-kinds.ts'
import { grayPng } from './png.ts'
import type { Volunteer } from './swarm.ts'

/** Digits in the committed fixture (test/fixtures/digits/inputs.f32). */
export const FIXTURE_DIGITS = 200

export interface DigitFile { name: string, mimeType: string, buffer: Buffer }

/**
 * `count` digit PNG files (the 200 held-out fixture digits, repeated in a
 * shifted order past 200), and what onnxruntime-node predicts for each after
 * the app's own preprocessing.
 */
export async function digitsFixture (count = FIXTURE_DIGITS): Promise<{ files: DigitFile[], expected: Map<string, number> }> {
  const raw = readFileSync(join('test', 'fixtures', 'digits', 'inputs.f32'))
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const files: DigitFile[] = []
  const pixels: Float32Array[] = []
  for (let i = 0; i < count; i++) {
    const k = (i + Math.floor(i / FIXTURE_DIGITS) * 7) % FIXTURE_DIGITS
    const gray = Uint8Array.from(values.subarray(k * 784, (k + 1) * 784), v => Math.round(v * 255))
    const name = `digit-${String(i).padStart(3, '0')}.png`
    files.push({ name, mimeType: 'image/png', buffer: grayPng(28, 28, gray) })
    const rgba = new Uint8ClampedArray(784 * 4)
    gray.forEach((g, p) => { rgba.set([g, g, g, 255], p * 4) })
    pixels.push(digitPixels({ width: 28, height: 28, data: rgba }))
  }
  const session = await ort.InferenceSession.create(join('models', 'digits.onnx'))
  const input = new Float32Array(count * 784)
  pixels.forEach((p, i) => { input.set(p, i * 784) })
  const out = await session.run({ input: new ort.Tensor('float32', input, [count, 1, 28, 28]) })
  const logits = (out.logits ?? Object.values(out)[0]!).data as Float32Array
  const expected = new Map<string, number>()
  files.forEach((f, i) => {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10))
    expected.set(f.name, row.indexOf(Math.max(...row)))
  })
  return { files, expected }
}

export async function startContributing (v: Volunteer): Promise<void> {
  await v.page.getByTestId('consent-start').click()
  await expect(v.page.getByTestId('pause-reason')).toHaveAttribute('data-reason', 'running')
}

/** What postDigits sets in the Submit page's "Verification policy" section; unset fields keep the page's defaults. */
export interface DigitsPolicy { replicas?: number, quorum?: number, canaryPct?: number, perShard?: number, deadlineHours?: number }

/** Posts the digits through the Submit page; resolves with the job id once the job page shows. */
export async function postDigits (page: Page, files: DigitFile[], policy: DigitsPolicy = {}): Promise<string> {
  await page.goto(page.url().replace(/#.*$/, '#/submit'))
  await page.getByTestId('submit-model').selectOption('digits')
  await page.getByTestId('submit-files').setInputFiles(files)
  await setPolicy(page, policy)
  const shards = Math.ceil(files.length / (policy.perShard ?? suggestedPerShard(files.length)))
  await expect(page.getByTestId('submit-estimate')).toContainText(`${files.length} files → ${shards} shard`)
  if (policy.replicas !== undefined) await expect(page.getByTestId('submit-estimate')).toContainText(`${policy.replicas} replicas each`)
  await page.getByTestId('submit-post').click()
  await expect(page.getByTestId('job')).toBeVisible({ timeout: 120_000 })
  return await page.getByTestId('job').getAttribute('data-job-id') ?? ''
}

/** Fills in the Submit page's "Verification policy" fields that `policy` sets. */
export async function setPolicy (page: Page, policy: DigitsPolicy): Promise<void> {
  if (Object.values(policy).some(v => v !== undefined)) {
    // The policy fields sit in a closed <details>: open it first (a click on an open one would close it).
    const section = page.getByTestId('submit-policy')
    if (!await section.evaluate(el => (el as HTMLDetailsElement).open)) await section.locator('summary').click()
    await expect(page.getByTestId('submit-replicas')).toBeVisible()
  }
  // Replicas before quorum: the quorum field's maximum is the replica count.
  if (policy.replicas !== undefined) await page.getByTestId('submit-replicas').fill(String(policy.replicas))
  if (policy.quorum !== undefined) await page.getByTestId('submit-quorum').fill(String(policy.quorum))
  if (policy.canaryPct !== undefined) await page.getByTestId('submit-canaries').fill(String(policy.canaryPct))
  if (policy.perShard !== undefined) await page.getByTestId('submit-per-shard').fill(String(policy.perShard))
  if (policy.deadlineHours !== undefined) await page.getByTestId('submit-deadline').fill(String(policy.deadlineHours))
}

/** [verified, total] as the job page shows them. */
export async function verified (page: Page): Promise<[number, number]> {
  const el = page.getByTestId('job-verified')
  return [Number(await el.getAttribute('data-verified')), Number(await el.getAttribute('data-total'))]
}
