/**
 * Shared pieces of the adversarial e2e suite: the digits job (200 held-out
 * MNIST digits as PNG files, and what onnxruntime-node predicts for them
 * after the app's own preprocessing), posting it through the Submit page,
 * reading progress, results and the ledger from the pages, and the results
 * file `scripts/adversary-table.ts` turns into the README table.
 */
import { expect, type Page } from '@playwright/test'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { digitPixels } from '../../src/compute/models/digits.ts'
import { grayPng } from '../e2e/support/png.ts'
import type { Volunteer } from '../e2e/support/swarm.ts'

export interface DigitFile { name: string, mimeType: string, buffer: Buffer }

/** The first `count` held-out digits as PNG files, with the reference prediction of each. */
export async function digitsFixture (count = 200): Promise<{ files: DigitFile[], expected: Map<string, number> }> {
  const raw = readFileSync(join('test', 'fixtures', 'digits', 'inputs.f32'))
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const files: DigitFile[] = []
  const pixels: Float32Array[] = []
  for (let i = 0; i < count; i++) {
    const gray = Uint8Array.from(values.subarray(i * 784, (i + 1) * 784), v => Math.round(v * 255))
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

/** Posts the digits through the Submit page; resolves with the job id once the job page shows. */
export async function postDigits (page: Page, files: DigitFile[], policy: { replicas?: number, quorum?: number, canaryPct?: number } = {}): Promise<string> {
  await page.goto(page.url().replace(/#.*$/, '#/submit'))
  await page.getByTestId('submit-model').selectOption('digits')
  await page.getByTestId('submit-files').setInputFiles(files)
  if (policy.replicas !== undefined) await page.getByTestId('submit-replicas').fill(String(policy.replicas))
  if (policy.quorum !== undefined) await page.getByTestId('submit-quorum').fill(String(policy.quorum))
  if (policy.canaryPct !== undefined) await page.getByTestId('submit-canaries').fill(String(policy.canaryPct))
  await expect(page.getByTestId('submit-estimate')).toContainText(`${files.length} files → ${Math.ceil(files.length / 8)} shards`)
  await page.getByTestId('submit-post').click()
  await expect(page.getByTestId('job')).toBeVisible({ timeout: 120_000 })
  return await page.getByTestId('job').getAttribute('data-job-id') ?? ''
}

/** [verified, total] as the job page shows them. */
export async function verified (page: Page): Promise<[number, number]> {
  const el = page.getByTestId('job-verified')
  return [Number(await el.getAttribute('data-verified')), Number(await el.getAttribute('data-total'))]
}

/** Every digit prediction the job page shows, checked against the reference; returns how many were wrong. */
export async function wrongDigits (page: Page, expected: Map<string, number>): Promise<{ shown: number, wrong: number }> {
  const shown = await page.getByTestId('digit-results').locator('li').evaluateAll(items =>
    items.map(li => [li.getAttribute('data-file') ?? '', Number(li.getAttribute('data-digit'))] as [string, number]))
  return { shown: shown.length, wrong: shown.filter(([file, digit]) => expected.get(file) !== digit).length }
}

export interface LedgerView { rows: Map<string, { credit: number }>, verdicts: number, credit: number, forks: number }

/** The Ledger page of `page` (navigates there). */
export async function ledgerOf (page: Page): Promise<LedgerView> {
  await page.goto(page.url().replace(/#.*$/, '#/ledger'))
  await expect(page.getByTestId('ledger').or(page.getByTestId('ledger-empty'))).toBeVisible({ timeout: 30_000 })
  const rows = await page.getByTestId('ledger-row').evaluateAll(rs => rs.map(r => [r.getAttribute('data-peer') ?? '', Number(r.getAttribute('data-credit'))] as [string, number]))
  const totals = page.getByTestId('ledger-totals')
  const has = await totals.count() > 0
  return {
    rows: new Map(rows.map(([p, c]) => [p, { credit: c }])),
    verdicts: has ? Number(await totals.getAttribute('data-verdicts')) : 0,
    credit: has ? Number(await totals.getAttribute('data-credit')) : 0,
    forks: await page.getByTestId('fork-evidence').locator('li').count()
  }
}

/** One line of the README table. */
export interface AttackResult { attack: string, outcome: string, figure: string }

/** Kept in the repo (Playwright empties test-results/ at every run), so the table can be regenerated from the last runs of every test. */
const RESULTS = join('test', 'adversary', 'results.json')

/** Records (or replaces, by attack name) one result for `scripts/adversary-table.ts`. */
export function recordResult (result: AttackResult): void {
  let all: AttackResult[] = []
  try { all = JSON.parse(readFileSync(RESULTS, 'utf8')) as AttackResult[] } catch {}
  all = [...all.filter(r => r.attack !== result.attack), result]
  mkdirSync(dirname(RESULTS), { recursive: true })
  writeFileSync(RESULTS, JSON.stringify(all, null, 2) + '\n')
}

/** Collects page errors (uncaught exceptions) of every page given. */
export function watchCrashes (pages: Page[]): string[] {
  const errors: string[] = []
  for (const p of pages) p.on('pageerror', err => { errors.push(err.message) })
  return errors
}
