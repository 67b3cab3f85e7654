/**
 * The Verify page in real Chromium: a bundle made here with the core
 * functions (a requester's log, chained heads, receipts) is verified when
 * picked, a tampered copy and a forked requester are shown as not verified
 * with the exact reason when dropped, and a non-JSON or wrong-format file
 * gives a clear error, never a crash; in French the reasons are worded in
 * French. The page is offline: no relay needed.
 */
import { test, expect, type Page } from '@playwright/test'
import { encodeBundle } from '../../src/core/receipt-bundle.ts'
import { toHex } from '../../src/core/bytes.ts'
import { who } from '../unit/core/fixtures.ts'
import { TestRequester } from '../unit/core/log-fixtures.ts'
import { cspViolations, watchCsp } from './support/swarm.ts'

const [alice, bob] = [who(1), who(2)]
const r = new TestRequester(who(40))
r.verdict(0, [alice, bob]); r.verdict(1, [alice]); r.head()
r.verdict(2, [bob]); r.head()
const receipts = [r.receipt(0), r.receipt(1), r.receipt(2)]
const good = encodeBundle({ receipts, heads: r.heads })
const tampered = encodeBundle({ receipts: [receipts[0]!, Uint8Array.from(receipts[1]!, (x, i) => i === receipts[1]!.length - 3 ? x ^ 1 : x), receipts[2]!], heads: r.heads })
const alt = r.fork(2)
alt.verdict(9, [bob]); alt.head()
const forked = encodeBundle({ receipts: [...receipts, alt.receipt(2)], heads: r.heads })

/** Opens the Verify page; the returned list collects uncaught page errors (a crash), which tests expect to stay empty. */
async function openVerify (page: Page): Promise<string[]> {
  const errors: string[] = []
  page.on('pageerror', err => { errors.push(err.message) })
  await watchCsp(page.context())
  await page.goto('/#/verify')
  await expect(page.getByTestId('verify-drop')).toBeVisible()
  return errors
}

async function pick (page: Page, name: string, text: string): Promise<void> {
  await page.getByTestId('verify-file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(text) })
}

/** A real drop event carrying a File, as a file dragged from the desktop would. */
async function drop (page: Page, name: string, text: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(([n, t]) => {
    const dt = new DataTransfer()
    dt.items.add(new File([t], n, { type: 'application/json' }))
    return dt
  }, [name, text] as const)
  await page.getByTestId('verify-drop').dispatchEvent('drop', { dataTransfer })
}

test('a good bundle verifies; a tampered one and a forked requester do not, with the reason', async ({ page }) => {
  const errors = await openVerify(page)
  await pick(page, 'good.json', good)
  const result = page.getByTestId('verify-result')
  await expect(result).toHaveAttribute('data-verified', 'true')
  await expect(result).toContainText('Verified: good.json')
  await expect(page.getByTestId('receipt-row')).toHaveCount(3)
  await expect(page.locator('[data-testid="receipt-row"][data-ok="true"]')).toHaveCount(3)
  await expect(page.getByTestId('verify-credit')).toContainText(toHex(alice.publicKey).slice(0, 12))
  await expect(page.getByTestId('verify-credit').locator('tbody tr')).toHaveCount(2)

  await drop(page, 'tampered.json', tampered)
  await expect(result).toHaveAttribute('data-verified', 'false')
  await expect(result).toContainText('Not verified: tampered.json')
  await expect(page.getByTestId('verify-problems')).toContainText('receipt 1: BadSignatureError: receipt: signature does not verify')
  await expect(page.getByTestId('verify-problems')).toContainText('Receipt 1: A signature does not verify')
  await expect(page.locator('[data-testid="receipt-row"][data-ok="false"]')).toHaveCount(1)

  await drop(page, 'forked.json', forked)
  await expect(result).toHaveAttribute('data-verified', 'false')
  await expect(page.getByTestId('verify-forks')).toContainText('signed two different roots for size 3')
  await expect(page.locator('[data-testid="receipt-row"][data-flagged="true"]')).toHaveCount(2)
  expect(errors).toEqual([])
  expect(await cspViolations(page)).toEqual([])
})

test('a non-JSON or wrong-format file gives a clear error, and the page keeps working', async ({ page }) => {
  const errors = await openVerify(page)
  await drop(page, 'notes.txt', 'hello, not json')
  await expect(page.getByTestId('verify-error')).toContainText('BundleFormatError: not JSON')
  await pick(page, 'other.json', '{"format":"something-else/1"}')
  await expect(page.getByTestId('verify-error')).toContainText('"format" is "something-else/1"')
  await expect(page.getByTestId('verify-error')).toContainText('Its "format" is "something-else/1"; expected "essaim-receipts/1", "essaim-receipt/1"')
  await pick(page, 'good.json', good)
  await expect(page.getByTestId('verify-result')).toHaveAttribute('data-verified', 'true')
  expect(errors).toEqual([])
})

test('in French, the reasons are in French (the exact technical line stays beside them)', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'fr-FR' })
  try {
    const page = await context.newPage()
    const errors = await openVerify(page)
    await drop(page, 'tampered.json', tampered)
    await expect(page.getByTestId('verify-result')).toHaveAttribute('data-verified', 'false')
    await expect(page.getByTestId('verify-problems')).toContainText('Reçu 1 : Une signature ne se vérifie pas')
    await expect(page.getByTestId('verify-problems')).toContainText('(dans le reçu)')
    await expect(page.getByTestId('verify-problems')).toContainText('receipt 1: BadSignatureError: receipt: signature does not verify')
    await drop(page, 'notes.txt', 'hello, not json')
    await expect(page.getByTestId('verify-error')).toContainText('Ce fichier n\'est pas du JSON')
    expect(errors).toEqual([])
  } finally {
    await context.close()
  }
})
