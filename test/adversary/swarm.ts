/**
 * Shared pieces of the adversarial e2e suite: the digits job and page steps
 * (from test/e2e/support/digits.ts, shared with jobs.e2e.ts), reading
 * results and the ledger from the pages, and the results file
 * `scripts/adversary-table.ts` turns into the README table.
 */
import { expect, type Page } from '@playwright/test'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export { digitsFixture, startContributing, postDigits, verified, type DigitFile } from '../e2e/support/digits.ts'

/**
 * Every digit prediction of the job, read from its JSON export (the page
 * draws only the first tiles of a large job), checked against the reference;
 * the tiles the page shows must agree with the export.
 */
export async function wrongDigits (page: Page, expected: Map<string, number>): Promise<{ shown: number, wrong: number }> {
  const download = page.waitForEvent('download')
  await page.getByTestId('export-json').click()
  const exported = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as { results: Array<{ file: string, prediction?: { digit?: number } }> }
  const digits = new Map(exported.results.map(r => [r.file, r.prediction?.digit]))
  const tiles = await page.getByTestId('digit-results').locator('li').evaluateAll(items =>
    items.map(li => [li.getAttribute('data-file') ?? '', Number(li.getAttribute('data-digit'))] as [string, number]))
  expect(tiles.length, 'the page shows tiles').toBeGreaterThan(0)
  for (const [file, digit] of tiles) expect(digit, `tile ${file} agrees with the export`).toBe(digits.get(file))
  return { shown: digits.size, wrong: [...digits].filter(([file, digit]) => expected.get(file) !== digit).length }
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

/** Used JS heap of a page after a full GC, via the DevTools protocol. */
export async function heapAfterGc (page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page)
  try {
    await cdp.send('HeapProfiler.collectGarbage')
    const { usedSize } = await cdp.send('Runtime.getHeapUsage')
    return usedSize
  } finally {
    await cdp.detach().catch(() => {})
  }
}

/** Collects page errors (uncaught exceptions) of every page given. */
export function watchCrashes (pages: Page[]): string[] {
  const errors: string[] = []
  for (const p of pages) p.on('pageerror', err => { errors.push(err.message) })
  return errors
}
