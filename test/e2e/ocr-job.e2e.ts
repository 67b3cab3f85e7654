/**
 * OCR jobs end to end, in real Chromium over real WebRTC with a real relay
 * and the real PaddleOCR models: a requester posts three images (the OCR
 * fixture, text drawn on a canvas here, and a blank page), two volunteers
 * compute both stages (text detection per image, then recognition per line,
 * posted by the requester as each image's lines are found), every shard is
 * verified, and the texts equal what the single-machine pipeline reads:
 * test/fixtures/ocr/reference.json (onnxruntime-node) for the fixture, the
 * Models page's OCR in the same browser for the drawn image. The requester
 * reloads once the first stage is verified; both stages resume, nothing is
 * lost or read twice. The exports hold the lines, and the receipt bundle of
 * both stages passes essaim-verify. An OCR job cancelled while it finds
 * text stays cancelled across a reload and never posts its reading stage,
 * and can then be deleted; so does one cancelled after its text was found,
 * while its reading stage could not be posted. A detection shard that every
 * volunteer gives up (Node peers, test/adversary/peer.ts) is listed as
 * failed, with what they said, and tried again once a tab can compute it,
 * both stages then complete.
 */
import '../../scripts/node22-polyfills.ts'
import { test, expect, type Page } from '@playwright/test'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { setPolicy, startContributing, type DigitsPolicy } from './support/digits.ts'
import { grayPng } from './support/png.ts'
import { cspViolations, fullMesh, openSwarm, openVolunteer, startRelayProcess, type Volunteer } from './support/swarm.ts'
import { Adversary, GIVE_UP_ERROR } from '../adversary/peer.ts'

const run = promisify(execFile)

interface Line { text: string, box: { x: number, y: number, width: number, height: number } }

const reference = JSON.parse(readFileSync(join('test', 'fixtures', 'ocr', 'reference.json'), 'utf8')) as { lines: Line[] }
/** What we draw on the canvas; PP-OCRv4 reads Latin text without most spaces. */
const DRAWN = ['Swarm 2026', 'Read by volunteers']

/** A PNG with DRAWN in black on white, made by the browser's canvas. */
async function drawnPng (page: Page): Promise<Buffer> {
  const bytes = await page.evaluate(async (texts: string[]) => {
    const canvas = new OffscreenCanvas(420, 150)
    const ctx = canvas.getContext('2d')!
    ctx.fillStyle = '#fff'
    ctx.fillRect(0, 0, canvas.width, canvas.height)
    ctx.fillStyle = '#000'
    ctx.font = '34px sans-serif'
    texts.forEach((t, i) => { ctx.fillText(t, 24, 55 + i * 60) })
    const blob = await canvas.convertToBlob({ type: 'image/png' })
    return Array.from(new Uint8Array(await blob.arrayBuffer()))
  }, DRAWN)
  return Buffer.from(bytes)
}

/** The lines the Models page's single-machine OCR reads in `file`. */
async function singleMachineLines (page: Page, file: { name: string, mimeType: string, buffer: Buffer }): Promise<Line[]> {
  await page.goto('/#/models')
  await page.getByTestId('ocr-file').setInputFiles(file)
  await expect(page.getByTestId('ocr-lines')).toBeVisible({ timeout: 120_000 })
  return await page.getByTestId('ocr-line').evaluateAll(els => els.map(e => ({ text: e.getAttribute('data-text') ?? '', box: JSON.parse(e.getAttribute('data-box') ?? '{}') as Line['box'] })))
}

/** Lines the job page shows, by file. */
async function shownLines (page: Page): Promise<Map<string, { status: string, lines: Line[] }>> {
  const images = await page.getByTestId('ocr-image').evaluateAll(els => els.map(e => ({
    file: e.getAttribute('data-file') ?? '',
    status: e.getAttribute('data-status') ?? '',
    lines: [...e.querySelectorAll('[data-testid=ocr-job-line]')].map(l => ({ text: l.getAttribute('data-text') ?? '', box: JSON.parse(l.getAttribute('data-box') ?? '{}') as Line['box'] }))
  })))
  return new Map(images.map(i => [i.file, { status: i.status, lines: i.lines }]))
}

const textPng = (): { name: string, mimeType: string, buffer: Buffer } =>
  ({ name: 'text.png', mimeType: 'image/png', buffer: readFileSync(join('test', 'fixtures', 'ocr', 'text.png')) })

/** Posts an OCR job of `files` on the Submit page and waits for its job page. */
async function postOcr (page: Page, files: Array<{ name: string, mimeType: string, buffer: Buffer }>, policy: DigitsPolicy = {}): Promise<string> {
  await page.goto(page.url().replace(/#.*$/, '#/submit'))
  await page.getByTestId('submit-model').selectOption('ocr-det')
  await page.getByTestId('submit-files').setInputFiles(files)
  await setPolicy(page, policy)
  await page.getByTestId('submit-post').click()
  const job = page.getByTestId('job')
  await expect(job).toHaveAttribute('data-kind', 'ocr', { timeout: 120_000 })
  return await job.getAttribute('data-job-id') ?? ''
}

async function stage (page: Page, name: 'find' | 'read'): Promise<[number, number]> {
  const el = page.locator(`[data-testid=ocr-stage][data-stage=${name}]`)
  return [Number(await el.getAttribute('data-verified')), Number(await el.getAttribute('data-total'))]
}

function expectBoxesClose (got: Line[], want: Line[]): void {
  got.forEach((l, i) => {
    for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(l.box[k] - want[i]!.box[k]), `${l.text} ${k}`).toBeLessThan(1)
  })
}

test('an OCR job: 2 volunteers find and read the lines of 3 images, both stages verified, texts equal the single-machine pipeline', async ({ browser }, testInfo) => {
  test.setTimeout(480_000)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    // The expected text of the drawn image, from the single-machine pipeline in a tab of its own.
    const solo = await browser.newPage()
    const drawn = { name: 'drawn.png', mimeType: 'image/png', buffer: await drawnPng(solo) }
    const drawnLines = await singleMachineLines(solo, drawn)
    expect(drawnLines.map(l => l.text.replace(/\s/g, ''))).toEqual(DRAWN.map(t => t.replace(/\s/g, '')))
    await solo.close()

    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    for (const v of volunteers) await startContributing(v)
    await fullMesh(pages)

    const files = [
      textPng(),
      drawn,
      { name: 'blank.png', mimeType: 'image/png', buffer: grayPng(320, 96, new Uint8Array(320 * 96).fill(255)) }
    ]
    const page = requester.page
    await page.goto(page.url().replace(/#.*$/, '#/submit'))
    await page.getByTestId('submit-model').selectOption('ocr-det')
    await page.getByTestId('submit-files').setInputFiles(files)
    await expect(page.getByTestId('submit-estimate')).toContainText('3 files → 3 shards')
    await expect(page.getByTestId('submit-estimate')).toContainText('one shard per line of text')
    await page.getByTestId('submit-post').click()
    const job = page.getByTestId('job')
    await expect(job).toHaveAttribute('data-kind', 'ocr', { timeout: 120_000 })
    const jobId = await job.getAttribute('data-job-id') ?? ''

    // Reload once every image's text is found: stage 2 (posted or not yet) resumes from storage.
    await expect.poll(async () => await stage(page, 'find'), { timeout: 240_000, intervals: [250] }).toEqual([3, 3])
    await page.reload()
    await expect(job).toHaveAttribute('data-job-id', jobId, { timeout: 60_000 })
    expect((await stage(page, 'find'))[0]).toBe(3)

    await expect(job).toHaveAttribute('data-status', 'done', { timeout: 240_000 })
    const lines = reference.lines.length + drawnLines.length
    expect(await stage(page, 'read')).toEqual([lines, lines])
    const shown = await shownLines(page)
    expect([...shown.keys()]).toEqual(['text.png', 'drawn.png', 'blank.png'])
    for (const s of shown.values()) expect(s.status).toBe('done')
    // Each image's lines exactly once, in reading order, as the single-machine pipeline reads them.
    expect(shown.get('text.png')!.lines.map(l => l.text)).toEqual(reference.lines.map(l => l.text))
    expectBoxesClose(shown.get('text.png')!.lines, reference.lines)
    expect(shown.get('drawn.png')!.lines.map(l => l.text)).toEqual(drawnLines.map(l => l.text))
    expectBoxesClose(shown.get('drawn.png')!.lines, drawnLines)
    expect(shown.get('blank.png')!.lines).toEqual([])
    // Every shard of both stages was verified by volunteers or was a canary computed here.
    const rows = await page.getByTestId('shard-row').evaluateAll(els => els.map(e => [e.getAttribute('data-stage'), e.getAttribute('data-status')]))
    expect(rows.filter(([s]) => s === 'find')).toHaveLength(3)
    expect(rows.filter(([s]) => s?.startsWith('read') === true)).toHaveLength(lines)
    for (const [, status] of rows) expect(['verified', 'canary']).toContain(status)

    // Exports: one CSV row per line; JSON with every image; the receipts of both stages verify offline.
    let download = page.waitForEvent('download')
    await page.getByTestId('export-csv').click()
    const csv = readFileSync(await (await download).path(), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('file,x,y,width,height,text,score')
    expect(csv.slice(1).map(r => `${r.split(',')[0]!}:${r.split(',')[5]!}`)).toEqual([
      ...reference.lines.map(l => `text.png:${l.text}`), ...drawnLines.map(l => `drawn.png:${l.text}`)
    ])
    download = page.waitForEvent('download')
    await page.getByTestId('export-json').click()
    const json = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as { job: string, images: Array<{ file: string, status: string, lines: Line[] }> }
    expect(json.job).toBe(jobId)
    expect(json.images.map(i => [i.file, i.status, i.lines.length])).toEqual([['text.png', 'done', reference.lines.length], ['drawn.png', 'done', drawnLines.length], ['blank.png', 'done', 0]])
    download = page.waitForEvent('download')
    await page.getByTestId('export-receipts').click()
    const bundlePath = testInfo.outputPath('ocr-receipts.json')
    await (await download).saveAs(bundlePath)
    const { stdout } = await run(process.execPath, ['scripts/essaim-verify.js', bundlePath])
    expect(stdout).toContain('VERIFIED')
    const canaries = rows.filter(([, s]) => s === 'canary').length
    // One receipt per verdict: every shard of both stages but the canaries.
    expect(stdout).toContain(`${3 + lines - canaries}/${3 + lines - canaries} receipts OK`)
    // The boxes drawn over the images are placed by style properties, which the strict CSP lets through.
    for (const p of pages) expect(await cspViolations(p.page)).toEqual([])
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('an OCR job cancelled before its text is found stays cancelled, across a reload, and never reads; then it is deleted', async ({ browser }) => {
  test.setTimeout(180_000)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    // Nobody volunteers: the job is still finding text when it is cancelled.
    const { requester } = await openSwarm(browser, [relay.addr], 0, pages)
    const page = requester.page
    await postOcr(page, [textPng()])
    const job = page.getByTestId('job')
    await expect(job).toHaveAttribute('data-status', 'running')
    await page.getByTestId('job-cancel').click()
    await page.getByTestId('job-cancel-confirm').click()
    await expect(job).toHaveAttribute('data-status', 'cancelled')
    await expect(page.getByTestId('job-cancelled')).toBeVisible()
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled', { timeout: 60_000 })
    await expect(page.getByTestId('job-cancel')).toHaveCount(0)
    expect(await stage(page, 'find')).toEqual([0, 1])
    expect(await stage(page, 'read')).toEqual([0, 0])
    // Deleted: gone, across a reload too.
    await page.getByTestId('job-delete').click()
    await page.getByTestId('job-delete-confirm').click()
    await expect(page.getByText('No such job in this browser.')).toBeVisible()
    await page.reload()
    await expect(page.getByText('No such job in this browser.')).toBeVisible()
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('an OCR job cancelled once its text is found, while its reading cannot be posted, stays cancelled across a reload and never reads', async ({ browser }) => {
  test.setTimeout(240_000)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    // The requester cannot fetch the recognition model (no service worker to serve it either),
    // so its reading stage, which needs that model for its canaries, fails to post and waits.
    const requester = await openVolunteer(browser, [relay.addr], '#/volunteer', { serviceWorkers: 'block' })
    pages.push(requester)
    let blocked = 0
    await requester.context.route('**/models/ocr-rec.onnx', async route => { blocked++; await route.abort() })
    const volunteer = await openVolunteer(browser, [relay.addr])
    pages.push(volunteer)
    await startContributing(volunteer)
    await fullMesh(pages)
    const page = requester.page
    await postOcr(page, [textPng()], { replicas: 1, quorum: 1 })
    await expect.poll(async () => await stage(page, 'find'), { timeout: 180_000, intervals: [250] }).toEqual([1, 1])
    await expect(page.getByTestId('ocr-job-error')).toBeVisible({ timeout: 60_000 })
    expect(blocked).toBeGreaterThan(0)
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'running')
    await page.getByTestId('job-cancel').click()
    await page.getByTestId('job-cancel-confirm').click()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled')
    // The model is reachable again: a reload that forgot the cancel would now post the reading stage.
    await requester.context.unrouteAll()
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled', { timeout: 60_000 })
    expect(await stage(page, 'find')).toEqual([1, 1])
    // Longer than the reading stage's retry (10 s) and its post.
    await page.waitForTimeout(15_000)
    expect(await stage(page, 'read')).toEqual([0, 0])
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled')
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('an OCR job whose text nobody could find lists that failure and, tried again once a volunteer can, finds and reads it', async ({ browser }) => {
  test.setTimeout(300_000)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  const quitters: Adversary[] = []
  const stop = new AbortController()
  try {
    const { requester } = await openSwarm(browser, [relay.addr], 0, pages)
    const page = requester.page
    // Three volunteers (Node peers) that each hand the shard back: it fails after three give-ups.
    for (let i = 0; i < 3; i++) quitters.push(await Adversary.start({ relay: relay.addr }))
    await Promise.all(quitters.map(async q => { await q.connect(requester.peerId) }))
    await postOcr(page, [textPng()], { replicas: 1, quorum: 1 })
    const runs = quitters.map(async q => await q.volunteer(await q.waitForJob(), 'give-up', { signal: stop.signal }))
    const failures = page.getByTestId('job-failures').locator('li')
    await expect(failures).toHaveCount(1, { timeout: 120_000 })
    await expect(failures).toContainText('text.png')
    await expect(failures).toContainText(GIVE_UP_ERROR)
    await expect(failures).toContainText('3 tries')
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('ocr-image')).toHaveAttribute('data-status', 'failed')
    // Kept across a reload.
    await page.reload()
    await expect(page.getByTestId('job-failures').locator('li')).toContainText(GIVE_UP_ERROR, { timeout: 60_000 })
    stop.abort()
    await Promise.all(runs)
    await Promise.all(quitters.map(async q => { await q.stop() }))

    const volunteer = await openVolunteer(browser, [relay.addr])
    pages.push(volunteer)
    await startContributing(volunteer)
    await page.getByTestId('job-retry-failed').click()
    await expect(page.getByTestId('job-failures')).toHaveCount(0)
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done', { timeout: 240_000 })
    const lines = reference.lines.length
    expect(await stage(page, 'find')).toEqual([1, 1])
    expect(await stage(page, 'read')).toEqual([lines, lines])
    const shown = await shownLines(page)
    expect(shown.get('text.png')!.status).toBe('done')
    expect(shown.get('text.png')!.lines.map(l => l.text)).toEqual(reference.lines.map(l => l.text))
  } finally {
    stop.abort()
    await Promise.all(quitters.map(async q => { await q.stop().catch(() => {}) }))
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})
