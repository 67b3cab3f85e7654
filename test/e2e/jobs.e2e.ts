/**
 * Jobs end to end, in real Chromium over real WebRTC with a real relay and
 * the real digits model: a requester posts 200 handwritten digits as PNG
 * files, three volunteers compute them with 2 replicas, every shard is
 * verified, the predictions equal a reference computed here with
 * onnxruntime-node, every volunteer's receipts pass `essaim-verify`, and the
 * ledger is the same on every page. Also: a volunteer leaving and the
 * requester reloading mid-job, a job cancelled mid-way, then deleted (and
 * the list of jobs that reaches it), a job nobody computes ending at its
 * deadline, a post cancelled while it reads, and files the Submit page refuses.
 */
import { test, expect, type Page } from '@playwright/test'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { verifyBundleText } from '../../src/core/verify-bundle.ts'
import { digitsFixture, postDigits, startContributing, verified, FIXTURE_DIGITS as IMAGES, type DigitFile } from './support/digits.ts'
import { cspViolations, fullMesh, openSwarm, openVolunteer, startRelayProcess, type RelayProcess, type Volunteer } from './support/swarm.ts'
import { grayPng } from './support/png.ts'

const run = promisify(execFile)

async function ledgerOf (page: Page): Promise<Array<[string, number]>> {
  await page.goto(page.url().replace(/#.*$/, '#/ledger'))
  await expect(page.getByTestId('ledger')).toBeVisible({ timeout: 30_000 })
  return await page.getByTestId('ledger-row').evaluateAll(rows => rows.map(r => [r.getAttribute('data-peer') ?? '', Number(r.getAttribute('data-credit'))] as [string, number]))
}

test('1 requester + 3 volunteers: 200 digits verified with 2 replicas, receipts verify offline, ledgers agree', async ({ browser }, testInfo) => {
  test.setTimeout(420_000)
  const { files, expected } = await digitsFixture()
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 3, pages)
    for (const v of volunteers) await startContributing(v)
    // Everyone must hear the announcement: a job this small can be finished
    // before a late joiner has connected, and then it is never announced again.
    await fullMesh(pages)

    // A first small job brings every volunteer's model and runtime up, as in a swarm that has been
    // running for a while; then every volunteer takes part in the 200-image job.
    await postDigits(requester.page, files.slice(0, 16), { perShard: 8 })
    for (const v of volunteers) {
      await expect(v.page.getByTestId('volunteer-status')).toHaveText(/finished|no shard for us|Computing/, { timeout: 120_000 })
    }
    // 2 images per shard: 100 shards, 200 replicas to hand out. With 25 shards of 8, two fast volunteers
    // (each may hold up to 24 leases) could take every replica before the third one's first pull.
    await postDigits(requester.page, files, { perShard: 2 })
    await expect.poll(async () => await verified(requester.page), { timeout: 300_000, intervals: [1000] }).toEqual([IMAGES / 2, IMAGES / 2])
    await expect(requester.page.getByTestId('job')).toHaveAttribute('data-status', 'done')

    // Every prediction equals the onnxruntime-node reference.
    const shown = await requester.page.getByTestId('digit-results').locator('li').evaluateAll(items =>
      items.map(li => [li.getAttribute('data-file') ?? '', Number(li.getAttribute('data-digit'))] as [string, number]))
    expect(shown).toHaveLength(IMAGES)
    for (const [file, digit] of shown) expect(digit, file).toBe(expected.get(file))

    // Each volunteer holds receipts, one per credit, and essaim-verify accepts them.
    for (const [i, v] of volunteers.entries()) {
      await expect.poll(async () => Number(await v.page.getByTestId('my-credit').getAttribute('data-credit')), { timeout: 30_000 }).toBeGreaterThan(0)
      const credit = Number(await v.page.getByTestId('my-credit').getAttribute('data-credit'))
      const download = v.page.waitForEvent('download')
      await v.page.getByTestId('export-my-receipts').click()
      const path = testInfo.outputPath(`receipts-${i}.json`)
      await (await download).saveAs(path)
      const { stdout } = await run(process.execPath, ['scripts/essaim-verify.js', path])
      expect(stdout).toMatch(/verified/i)
      // (Receipts may still be arriving: the count lies between the credit shown before the click and after.)
      const after = Number(await v.page.getByTestId('my-credit').getAttribute('data-credit'))
      const checked = verifyBundleText(readFileSync(path, 'utf8'))
      const exported = checked.ok ? checked.report.receipts.length : -1
      expect(exported >= credit && exported <= after, `volunteer ${i} exported ${exported} receipts with credit ${credit} → ${after}`).toBe(true)
    }

    // The ledger is the same on every page, and credits exactly 2 replicas × the shards volunteers computed.
    await expect.poll(async () => {
      const ledgers = await Promise.all(pages.map(async p => JSON.stringify(await ledgerOf(p.page))))
      return new Set(ledgers).size
    }, { timeout: 30_000 }).toBe(1)
    const ledger = await ledgerOf(requester.page)
    expect(ledger.map(([peer]) => peer).sort()).toEqual(volunteers.map(v => v.peerId).sort())
    // Nothing any page drew (job progress, dashboards, ledgers) ran into the strict CSP.
    for (const p of pages) expect(await cspViolations(p.page)).toEqual([])
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

async function shownDigits (page: Page): Promise<Map<string, number>> {
  const items = await page.getByTestId('digit-results').locator('li').evaluateAll(lis =>
    lis.map(li => [li.getAttribute('data-file') ?? '', Number(li.getAttribute('data-digit'))] as [string, number]))
  return new Map(items)
}

/** `n` upload files cycling through `files`, each under a name of its own. */
function manyDigits (files: DigitFile[], n: number): DigitFile[] {
  return Array.from({ length: n }, (_, i) => ({ ...files[i % files.length]!, name: `d${i}.png` }))
}

async function ledgerTotals (page: Page): Promise<{ verdicts: number, credit: number }> {
  await page.goto(page.url().replace(/#.*$/, '#/ledger'))
  const el = page.getByTestId('ledger-totals')
  await expect(el).toBeVisible({ timeout: 30_000 })
  return { verdicts: Number(await el.getAttribute('data-verdicts')), credit: Number(await el.getAttribute('data-credit')) }
}

test('a volunteer closed mid-job: its shards are reassigned and the job completes', async ({ browser }) => {
  test.setTimeout(420_000)
  // 250 shards of 4 (the job page draws up to 1,000 digits): small enough that a closed volunteer
  // leaves some in flight, and many enough that the job outlasts the close (100 shards of 8 were
  // sometimes all verified between two looks at the requester's page, on a fast host).
  const SHARDS = 250
  const { files, expected } = await digitsFixture(1000)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 3, pages)
    for (const v of volunteers) await startContributing(v)
    await postDigits(requester.page, files, { perShard: files.length / SHARDS })
    // Closed once it has computed a few shards: it is working on the job, and holds leases.
    const leaving = volunteers[2]!
    await expect.poll(async () => Number(await leaving.page.getByTestId('shards-done').getAttribute('data-count')), { timeout: 120_000, intervals: [100] }).toBeGreaterThanOrEqual(2)
    const [atClose] = await verified(requester.page)
    await leaving.context.close()
    console.log(`a volunteer closed at ${atClose}/${SHARDS} shards verified`)
    expect(atClose, 'the job was still running when the volunteer left').toBeLessThan(SHARDS)
    await expect.poll(async () => await verified(requester.page), { timeout: 300_000, intervals: [1000] }).toEqual([SHARDS, SHARDS])
    const shown = await shownDigits(requester.page)
    expect(shown.size).toBe(files.length)
    for (const [file, digit] of shown) expect(digit, file).toBe(expected.get(file))
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('the requester cancels a job mid-way: volunteers stop, what was verified stays, kept across a reload; the job list reaches every job; a deleted job is gone, its credit stays', async ({ browser }) => {
  test.setTimeout(300_000)
  const { files } = await digitsFixture(800)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    for (const v of volunteers) await startContributing(v)
    const page = requester.page
    // 800 shards of one image, two replicas each: long enough to be cancelled mid-way.
    const cancelledId = await postDigits(page, files, { perShard: 1 })
    await expect.poll(async () => (await verified(page))[0], { timeout: 120_000, intervals: [250] }).toBeGreaterThanOrEqual(10)
    // Asked once: "Keep it running" leaves it running.
    await page.getByTestId('job-cancel').click()
    await page.getByTestId('job-cancel-keep').click()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'running')
    await page.getByTestId('job-cancel').click()
    await page.getByTestId('job-cancel-confirm').click()
    // "Cancelling" while the verdicts decided before the cancel are written; once "cancelled", the count stays.
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled')
    const [atCancel, total] = await verified(page)
    await expect(page.getByTestId('job-cancelled')).toBeVisible()
    await expect(page.getByTestId('job-cancel')).toHaveCount(0)
    // What this browser keeps, and whether it may clear it (posting asked it not to).
    await expect(page.getByTestId('storage-note')).toContainText(/This browser keeps [\d.]+ (MiB|KiB|bytes) for Essaim/)
    await expect(page.getByTestId('storage-note')).toHaveAttribute('data-persisted', /^(true|false)$/)

    // The volunteers drop it: neither computes any more. The count stays, here and across the reload below.
    for (const v of volunteers) await expect(v.page.getByTestId('volunteer-status')).not.toContainText('Computing', { timeout: 60_000 })
    expect(await verified(page)).toEqual([atCancel, total])
    expect(atCancel, 'the job was still running when it was cancelled').toBeLessThan(total)
    expect((await shownDigits(page)).size).toBe(atCancel)

    // A second job runs to the end beside it; the job list links both.
    const doneId = await postDigits(page, files.slice(0, 16), { perShard: 8 })
    await expect.poll(async () => await verified(page), { timeout: 120_000, intervals: [500] }).toEqual([2, 2])
    await page.getByTestId('job-list-box').locator('summary').click()
    const list = page.getByTestId('job-list')
    await expect(list.locator(`li[data-job-id="${cancelledId}"]`)).toHaveAttribute('data-status', 'cancelled')
    await expect(list.locator(`li[data-job-id="${doneId}"]`)).toHaveAttribute('data-status', 'done')
    await list.locator(`li[data-job-id="${cancelledId}"] a`).click()
    await expect(page.getByTestId('job')).toHaveAttribute('data-job-id', cancelledId)
    expect(await verified(page)).toEqual([atCancel, total])

    // Kept across a reload: still cancelled, with what it had verified, and still not served.
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'cancelled')
    expect(await verified(page)).toEqual([atCancel, total])
    expect((await shownDigits(page)).size).toBe(atCancel)

    // Deleted: gone from this browser, for good. Its verdicts stay in the log: the volunteers'
    // credit stands, and the requester's next heads extend the same log (no fork).
    const volunteerPage = volunteers[0]!.page
    const before = await ledgerTotals(volunteerPage)
    expect(before.verdicts).toBeGreaterThan(0)
    await page.goto(page.url().replace(/#.*$/, `#/job?id=${cancelledId}`))
    await expect(page.getByTestId('job-cancel')).toHaveCount(0)
    await page.getByTestId('job-delete').click()
    await page.getByTestId('job-delete-confirm').click()
    await expect(page).toHaveURL(/#\/job$/)
    await expect(page.getByTestId('job')).toHaveAttribute('data-job-id', doneId)
    await expect(page.getByTestId('job-list-box')).toHaveCount(0)
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-job-id', doneId)
    await page.goto(page.url().replace(/#.*$/, `#/job?id=${cancelledId}`))
    await expect(page.getByText('No such job in this browser.')).toBeVisible()
    await postDigits(page, files.slice(16, 32), { perShard: 8 })
    await expect.poll(async () => await verified(page), { timeout: 120_000, intervals: [500] }).toEqual([2, 2])
    await expect.poll(async () => (await ledgerTotals(volunteerPage)).verdicts, { timeout: 60_000, intervals: [1000] }).toBeGreaterThan(before.verdicts)
    await expect(volunteerPage.getByTestId('fork-evidence')).toHaveCount(0)
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('a job nobody computes ends at its deadline: its shards fail saying so, it cannot be tried again, across a reload', async ({ browser }) => {
  test.setTimeout(180_000)
  const { files } = await digitsFixture(96)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester } = await openSwarm(browser, [relay.addr], 0, pages)
    const page = requester.page
    // A cleared deadline would end the job as it starts: Submit refuses it.
    await page.goto(page.url().replace(/#.*$/, '#/submit'))
    await page.getByTestId('submit-model').selectOption('digits')
    await page.getByTestId('submit-files').setInputFiles(files)
    await page.getByTestId('submit-policy').locator('summary').click()
    await page.getByTestId('submit-deadline').fill('')
    await expect(page.getByTestId('submit-deadline-problem')).toBeVisible()
    await expect(page.getByTestId('submit-post')).toBeDisabled()
    // The shortest deadline offered, 0.01 h: 36 s after posting. No canaries: all 12 shards go to volunteers.
    await postDigits(page, files, { perShard: 8, canaryPct: 0, deadlineHours: 0.01 })
    const job = page.getByTestId('job')
    await expect(job).toHaveAttribute('data-status', 'running')
    await expect(job).toHaveAttribute('data-status', 'done', { timeout: 90_000 })
    expect(await verified(page)).toEqual([0, 12])
    const failures = page.getByTestId('job-failures').locator('li')
    // Ten are listed, the others counted.
    await expect(failures).toHaveCount(10)
    for (const f of await failures.all()) await expect(f).toContainText('deadline')
    await expect(page.getByTestId('job-failures-more')).toContainText('and 2 more')
    await expect(page.getByTestId('job-past-deadline')).toBeVisible()
    await expect(page.getByTestId('job-retry-failed')).toHaveCount(0)
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done', { timeout: 60_000 })
    await expect(page.getByTestId('job-failures').locator('li')).toHaveCount(10)
    await expect(page.getByTestId('job-failures-more')).toContainText('and 2 more')
    await expect(page.getByTestId('job-past-deadline')).toBeVisible()
    await expect(page.getByTestId('job-retry-failed')).toHaveCount(0)
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('the requester reloaded mid-job: the job resumes and completes with nothing lost or duplicated', async ({ browser }, testInfo) => {
  test.setTimeout(420_000)
  const { files, expected } = await digitsFixture(800)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    for (const v of volunteers) await startContributing(v)
    // 400 shards of 2 (was 100 of 8: on a fast host two volunteers finished those between two looks, before the reload).
    const jobId = await postDigits(requester.page, files, { perShard: 2 })
    await expect.poll(async () => (await verified(requester.page))[0], { timeout: 120_000, intervals: [250] }).toBeGreaterThanOrEqual(10)
    const before = await shownDigits(requester.page)
    console.log(`requester reloaded at ${before.size}/${files.length} images verified`)
    expect(before.size, 'the job was still running at the reload').toBeLessThan(files.length)

    await requester.page.reload()
    await expect(requester.page.getByTestId('job')).toHaveAttribute('data-job-id', jobId, { timeout: 60_000 })
    // Nothing verified before the reload is lost…
    expect((await verified(requester.page))[0]).toBeGreaterThanOrEqual(Math.floor(before.size / 2))
    await expect.poll(async () => await verified(requester.page), { timeout: 300_000, intervals: [1000] }).toEqual([400, 400])
    const after = await shownDigits(requester.page)
    expect(after.size).toBe(files.length)
    // …or changed, and everything matches the reference.
    for (const [file, digit] of before) expect(after.get(file), file).toBe(digit)
    for (const [file, digit] of after) expect(digit, file).toBe(expected.get(file))
    // One verdict per shard (minus the canaries the requester computed itself): none duplicated.
    await requester.page.getByTestId('shards-all').click() // the table draws the first 200 rows until asked
    await expect(requester.page.getByTestId('shard-row')).toHaveCount(400)
    const canaries = await requester.page.getByTestId('shard-row').and(requester.page.locator('[data-status="canary"]')).count()
    const download = requester.page.waitForEvent('download')
    await requester.page.getByTestId('export-receipts').click()
    const path = testInfo.outputPath('requester-receipts.json')
    await (await download).saveAs(path)
    const checked = verifyBundleText(readFileSync(path, 'utf8'))
    if (!checked.ok) throw new Error(`not a receipt bundle: ${checked.reason}`)
    expect(checked.report.problems).toEqual([])
    const shards = checked.report.receipts.map(r => r.shard)
    expect(new Set(shards).size, 'one receipt per shard').toBe(shards.length)
    expect(shards.length).toBe(400 - canaries)
    // Every observer's ledger converges to the requester's log: receipts gossiped while it had no
    // connection to the reloaded requester are caught up over /essaim/log/1.0.0, and none counts twice.
    // Nor does any see a fork: the log rebuilt from storage after the reload is the one it had signed.
    const credit = checked.report.receipts.reduce((sum, r) => sum + r.credited.length, 0)
    for (const v of volunteers) {
      await expect.poll(async () => ({ ...await ledgerTotals(v.page), forks: await v.page.getByTestId('fork-evidence').count() }), { timeout: 60_000, intervals: [1000], message: `ledger of ${v.peerId}` })
        .toEqual({ verdicts: shards.length, credit, forks: 0 })
    }
    // The requester's own ledger too: what it logged before the reload is counted again from its stored log.
    await expect.poll(async () => await ledgerTotals(requester.page), { timeout: 60_000, intervals: [1000], message: 'ledger of the requester' })
      .toEqual({ verdicts: shards.length, credit })
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('a voice-activity job returns the speech segments of the fixture WAV', async ({ browser }) => {
  test.setTimeout(300_000)
  const reference = JSON.parse(readFileSync(join('test', 'fixtures', 'vad', 'reference.json'), 'utf8')) as { segments: Array<{ startMs: number, endMs: number }> }
  const wav = readFileSync(join('test', 'fixtures', 'vad', 'speech.wav'))
  const files = ['a', 'b', 'c'].map(n => ({ name: `speech-${n}.wav`, mimeType: 'audio/wav', buffer: wav }))
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    for (const v of volunteers) await startContributing(v)
    await requester.page.goto(requester.page.url().replace(/#.*$/, '#/submit'))
    await requester.page.getByTestId('submit-model').selectOption('vad')
    await requester.page.getByTestId('submit-files').setInputFiles(files)
    await expect(requester.page.getByTestId('submit-estimate')).toContainText('3 files → 3 shards')
    await requester.page.getByTestId('submit-post').click()
    await expect(requester.page.getByTestId('job')).toBeVisible({ timeout: 120_000 })
    await expect.poll(async () => await verified(requester.page), { timeout: 240_000, intervals: [1000] }).toEqual([3, 3])
    const results = requester.page.getByTestId('vad-result')
    await expect(results).toHaveCount(3)
    for (const segments of await results.evaluateAll(els => els.map(e => e.getAttribute('data-segments') ?? ''))) {
      expect(JSON.parse(segments)).toEqual(reference.segments)
    }
    expect(await cspViolations(requester.page)).toEqual([])
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('fair share: a second requester\'s small job finishes while a large job posted earlier is still running; the large job\'s page draws its first 200 shards, all on request', async ({ browser }) => {
  test.setTimeout(300_000)
  const { files } = await digitsFixture(2400)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester: large, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    const small = await openVolunteer(browser, [relay.addr])
    pages.push(small)
    for (const v of volunteers) await startContributing(v)
    await fullMesh(pages)
    // 1,200 shards of 2 images, 2 replicas each: many slices' worth of work for two volunteers (600 shards of 4
    // were all verified on a fast host before the small job, whose requester computes its canaries first, was posted).
    await postDigits(large.page, files, { perShard: 2 })
    await expect.poll(async () => (await verified(large.page))[0], { timeout: 120_000, intervals: [250] }).toBeGreaterThan(0)
    // Both volunteers are busy with the large job; the small one, posted later by another requester, still gets its turn.
    await postDigits(small.page, files.slice(0, 32), { perShard: 8 })
    await expect(small.page.getByTestId('job')).toHaveAttribute('data-status', 'done', { timeout: 180_000 })
    const [done, total] = await verified(large.page)
    console.log(`fair share: the large job was at ${done}/${total} shards when the small one finished`)
    expect(done, 'the large job was still running when the small one finished').toBeLessThan(total)
    // Its page draws the first 200 of its 1,200 shard rows, and all of them on request.
    const rows = large.page.getByTestId('shard-row')
    await expect(rows).toHaveCount(200)
    await expect(large.page.getByTestId('shards-more')).toContainText('The first 200 of 1,200 shards.')
    await large.page.getByTestId('shards-all').click()
    await expect(rows).toHaveCount(1200)
    await expect(large.page.getByTestId('shards-more')).toHaveCount(0)
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('Submit suggests images per shard from the job\'s size, and keeps the count the user typed', async ({ browser }) => {
  const relay = await startRelayProcess()
  try {
    const page = (await openVolunteer(browser, [relay.addr])).page
    await page.goto(page.url().replace(/#.*$/, '#/submit'))
    const { files } = await digitsFixture()
    await page.getByTestId('submit-model').selectOption('digits')
    await page.locator('details:has([data-testid="submit-per-shard"]) > summary').click()
    const perShard = page.getByTestId('submit-per-shard')
    // The help names the rule the suggestions below follow.
    await expect(page.locator('label:has([data-testid="submit-per-shard"])')).toHaveAttribute('title', /about 48 shards of 128 to 256 images$/)
    await page.getByTestId('submit-files').setInputFiles(manyDigits(files, 200))
    await expect(perShard).toHaveValue('128')
    await expect(page.getByTestId('submit-estimate')).toContainText('→ 2 shards')
    await page.getByTestId('submit-files').setInputFiles(manyDigits(files, 7000))
    await expect(perShard).toHaveValue('146')
    await expect(page.getByTestId('submit-estimate')).toContainText('→ 48 shards')
    await perShard.fill('50')
    await expect(page.getByTestId('submit-estimate')).toContainText('→ 140 shards')
    await page.getByTestId('submit-files').setInputFiles(manyDigits(files, 200))
    await expect(perShard).toHaveValue('50')
    await expect(page.getByTestId('submit-estimate')).toContainText('→ 4 shards')
  } finally {
    await relay.kill()
  }
})

test('Submit: a post can be cancelled while it reads the files; nothing is posted', async ({ browser }) => {
  const relay = await startRelayProcess()
  try {
    const page = (await openVolunteer(browser, [relay.addr])).page
    await page.goto(page.url().replace(/#.*$/, '#/submit'))
    const many = manyDigits((await digitsFixture()).files, 6000)
    await page.getByTestId('submit-model').selectOption('digits')
    await page.getByTestId('submit-files').setInputFiles(many)
    await page.getByTestId('submit-post').click()
    await expect(page.getByTestId('submit-stage')).toBeVisible()
    await page.getByTestId('submit-cancel').click()
    await expect(page.getByTestId('submit-cancelled')).toContainText('nothing was posted')
    await expect(page.getByTestId('submit-error')).toHaveCount(0)
    await expect(page.getByTestId('submit-cancel')).toHaveCount(0)
    await expect(page.getByTestId('submit-post')).toBeEnabled()
    await expect(page).toHaveURL(/#\/submit$/)
    await page.goto(page.url().replace(/#.*$/, '#/job'))
    await expect(page.getByText('No such job in this browser.')).toBeVisible()
  } finally {
    await relay.kill()
  }
})

test('Submit reads a digits job on its image readers, and refuses a file it cannot read by name, posting nothing', async ({ browser }) => {
  const relay = await startRelayProcess()
  try {
    const page = (await openVolunteer(browser, [relay.addr])).page
    const { files } = await digitsFixture(40)
    const submit = async (upload: typeof files): Promise<void> => {
      await page.goto(page.url().replace(/#.*$/, '#/submit'))
      await page.getByTestId('submit-model').selectOption('digits')
      await page.getByTestId('submit-files').setInputFiles(upload)
      await page.getByTestId('submit-post').click()
    }
    // Not an image, among good ones (after them and before more): the error names it.
    await submit([...files.slice(0, 30), { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') }, ...files.slice(30)])
    const error = page.getByTestId('submit-error')
    await expect(error).toContainText('notes.txt')
    await expect(error).toContainText(/not an image/i)
    await expect(error).toHaveAttribute('data-error-name', 'BadInputError')
    await expect(page).toHaveURL(/#\/submit$/)
    // An image with nothing drawn on it.
    await submit([...files.slice(0, 5), { name: 'empty.png', mimeType: 'image/png', buffer: grayPng(28, 28, new Uint8Array(28 * 28).fill(255)) }])
    await expect(error).toContainText('empty.png')
    await expect(error).toContainText(/no digit found/i)
    // Still on the Submit page: nothing was posted.
    await expect(page).toHaveURL(/#\/submit$/)
    await expect(page.getByTestId('submit-post')).toBeEnabled()
    // The good files alone post.
    const jobId = await postDigits(page, files, { perShard: 8 })
    expect(jobId).toMatch(/^[0-9a-f]{64}$/)
    await expect(page.getByTestId('job-verified')).toHaveAttribute('data-total', '5')
  } finally {
    await relay.kill()
  }
})
