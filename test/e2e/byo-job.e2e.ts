/**
 * A job with the requester's own model, end to end in real Chromium over
 * real WebRTC: the requester drops test/fixtures/byo/affine.onnx (not in the
 * catalog) and six tensor files (.json and .npy variants of the fixture
 * input), then reloads before any volunteer has started: the model bytes
 * and the job survive in its IndexedDB. Two volunteers that have never seen
 * the model then fetch it from the requester over /essaim/blob/1, check its
 * sha256, compute, and every shard is verified; the outputs shown and
 * exported equal onnxruntime-node's. A
 * third volunteer that turned "Run models that are not in the catalog" off
 * (kept across a reload) computes nothing and says why.
 *
 * A job whose model rejects one of its inputs at run time (test/fixtures/byo/pairs.onnx
 * on an odd number of rows) ends: that shard fails once volunteers have given it up
 * three times, and the job page names the file and quotes the runtime's error;
 * tried again from the job page, it runs and fails once more. The requester
 * keeps the model stored while the job is (the Models page says so) and frees
 * it when the job is deleted; a volunteer's copy can be deleted there.
 *
 * Then models a volunteer cannot run, posted by a Node peer on the app's own
 * stack (test/adversary/peer.ts) that serves their bytes: one with an
 * operator the runtime lacks, one whose manifest declares a size over the
 * 64 MiB cap (refused before any byte of it is asked for), and one over the
 * cap in a manifest from before sizes were declared (refused on the size the
 * transfer announces). The volunteer refuses each once, says why, and does
 * not fetch them again.
 */
import { test, expect, type Page } from '@playwright/test'
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { startContributing, verified } from './support/digits.ts'
import { fullMesh, openVolunteer, startRelayProcess, type Volunteer } from './support/swarm.ts'
import { Adversary, delay } from '../adversary/peer.ts'
import { sha256, toHex } from '../../src/core/bytes.ts'
import { encodeTensors, makeTensor } from '../../src/core/tensors.ts'
import { FOREIGN_MODEL_MAX_BYTES } from '../../src/compute/foreign-model.ts'
import { TOPIC_JOBS } from '../../src/net/constants.ts'

interface TensorFile { name: string, mimeType: string, buffer: Buffer }

/** x float32 [N, 3] as a .npy (v1.0 header, little-endian, C order). */
function npy (rows: number[][]): Buffer {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, 3), }`
  const padded = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1) + '\n'
  const head = Buffer.alloc(10)
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head)
  head.writeUInt16LE(padded.length, 8)
  return Buffer.concat([head, Buffer.from(padded, 'latin1'), Buffer.from(Float32Array.from(rows.flat()).buffer)])
}

/** Six shards: the fixture's .json and .npy as they are, and variants with other values and row counts. */
async function inputs (): Promise<{ files: TensorFile[], rows: number[][][] }> {
  const base = (JSON.parse(await readFile('test/fixtures/byo/input.json', 'utf8')) as { x: number[][] }).x
  const rows = [
    base,
    base,
    base.map(r => r.map(v => v * 2)),
    [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    [[-0.125, 7.5, 3]],
    base.map(r => r.map(v => v - 1.5))
  ]
  const files: TensorFile[] = [
    { name: 'input.json', mimeType: 'application/json', buffer: await readFile('test/fixtures/byo/input.json') },
    { name: 'input.npy', mimeType: 'application/octet-stream', buffer: await readFile('test/fixtures/byo/input.npy') },
    { name: 'doubled.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ x: rows[2] })) },
    { name: 'basis.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(rows[3])) },
    { name: 'one-row.npy', mimeType: 'application/octet-stream', buffer: npy(rows[4]!) },
    { name: 'shifted.npy', mimeType: 'application/octet-stream', buffer: npy(rows[5]!) }
  ]
  return { files, rows }
}

/** y = x·W + b for each shard, by onnxruntime-node. */
async function reference (rows: number[][][]): Promise<Array<{ dims: number[], values: number[] }>> {
  const session = await ort.InferenceSession.create('test/fixtures/byo/affine.onnx')
  const out: Array<{ dims: number[], values: number[] }> = []
  for (const r of rows) {
    const y = (await session.run({ x: new ort.Tensor('float32', Float32Array.from(r.flat()), [r.length, 3]) })).y!
    out.push({ dims: [...y.dims], values: Array.from(y.data as Float32Array) })
  }
  await session.release()
  return out
}

function expectClose (got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length)
  got.forEach((v, i) => { expect(Math.abs(v - want[i]!), `${what}[${i}]: ${v} vs ${want[i]!}`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]!)) })
}

async function goto (page: Page, hash: string): Promise<void> {
  await page.goto(page.url().replace(/#.*$/, hash))
}

test('a job with the requester\'s own .onnx: volunteers fetch it from the requester, results match onnxruntime-node', async ({ browser }, testInfo) => {
  test.setTimeout(300_000)
  const { files, rows } = await inputs()
  const expected = await reference(rows)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const requester = await openVolunteer(browser, [relay.addr])
    const volunteers = [await openVolunteer(browser, [relay.addr]), await openVolunteer(browser, [relay.addr])]
    const refuser = await openVolunteer(browser, [relay.addr])
    pages.push(requester, ...volunteers, refuser)
    await goto(refuser.page, '#/settings')

    // The refuser turns foreign models off; the choice survives a reload.
    const toggle = refuser.page.getByTestId('run-foreign-models')
    await expect(toggle).toBeChecked()
    await toggle.uncheck()
    await refuser.page.reload()
    await expect(refuser.page.getByTestId('run-foreign-models')).not.toBeChecked()
    await goto(refuser.page, '#/volunteer')

    await startContributing(refuser)
    await fullMesh(pages)

    // Post: the page shows the model's inputs and outputs, then one shard per file.
    const page = requester.page
    await goto(page, '#/submit')
    await page.getByTestId('submit-model').selectOption('(own)')
    await page.getByTestId('submit-byo-model').setInputFiles('test/fixtures/byo/affine.onnx')
    await expect(page.getByTestId('submit-byo-input')).toHaveAttribute('data-name', 'x')
    await expect(page.getByTestId('submit-byo-io')).toContainText('[N, 3]')
    await expect(page.getByTestId('submit-byo-output')).toHaveAttribute('data-name', 'y')
    await page.getByTestId('submit-byo-inputs').setInputFiles(files)
    await expect(page.getByTestId('submit-estimate')).toContainText('6 files → 6 shards')
    // What each volunteer downloads: the model's size (affine.onnx is 201 bytes).
    await expect(page.getByTestId('submit-estimate')).toContainText('fetches the model (201 bytes) once')
    await expect(page.getByTestId('submit-compare')).toContainText('within atol 0.0001, rtol 0.001')
    await page.getByTestId('submit-post').click()
    await expect(page.getByTestId('job')).toBeVisible({ timeout: 60_000 })
    const jobId = await page.getByTestId('job').getAttribute('data-job-id')

    // Only the canary (computed here) is verified: nobody else runs it yet. The requester
    // reloads; the job, and the model bytes volunteers will need, come back from IndexedDB.
    expect(await verified(page)).toEqual([1, 6])
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-job-id', jobId ?? '')
    expect(await verified(page)).toEqual([1, 6])
    for (const v of volunteers) await startContributing(v)
    await goto(page, '#/volunteer')
    await fullMesh(pages)
    await goto(page, `#/job?id=${jobId ?? ''}`)

    await expect.poll(async () => await verified(page), { timeout: 180_000, intervals: [1000] }).toEqual([6, 6])
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done')

    // Every file's output, as shown, equals onnxruntime-node's.
    const shown = await page.getByTestId('tensor-result').evaluateAll(els => els.map(el => {
      const y = el.querySelector('[data-name="y"]')!
      return { file: el.getAttribute('data-file'), dims: JSON.parse(y.getAttribute('data-dims')!) as number[], values: JSON.parse(y.getAttribute('data-values')!) as number[] }
    }))
    expect(shown.map(s => s.file)).toEqual(files.map(f => f.name))
    shown.forEach((s, i) => {
      expect(s.dims, s.file ?? '').toEqual(expected[i]!.dims)
      expectClose(s.values, expected[i]!.values, s.file ?? '')
    })

    // The JSON and CSV exports carry the same numbers.
    const download = page.waitForEvent('download')
    await page.getByTestId('export-json').click()
    const path = testInfo.outputPath('byo-results.json')
    await (await download).saveAs(path)
    const exported = JSON.parse(await readFile(path, 'utf8')) as { results: Array<{ file: string, output: { y: { dims: number[], values: number[] } } }> }
    expect(exported.results.map(r => r.file)).toEqual(files.map(f => f.name))
    exported.results.forEach((r, i) => { expectClose(r.output.y.values, expected[i]!.values, `export ${r.file}`) })
    const csvDownload = page.waitForEvent('download')
    await page.getByTestId('export-csv').click()
    const csvPath = testInfo.outputPath('byo-results.csv')
    await (await csvDownload).saveAs(csvPath)
    const csv = (await readFile(csvPath, 'utf8')).trim().split('\n')
    expect(csv[0]).toBe('file,output,dtype,dims,values')
    expect(csv.slice(1).map(line => line.split(',')[0])).toEqual(files.map(f => f.name))
    csv.slice(1).forEach((line, i) => { expectClose(line.split(',')[4]!.split(' ').map(Number), expected[i]!.values, `csv ${files[i]!.name}`) })

    // Both volunteers answered shards (2 replicas of each), the refuser none.
    const answers = (await page.getByTestId('shard-row').allTextContents()).join(' ')
    for (const v of volunteers) expect(answers, 'the job page lists answers by each volunteer').toContain(`${v.peerId.slice(-6)}→`)
    expect(answers).not.toContain(`${refuser.peerId.slice(-6)}→`)

    // Both volunteers got the bytes from the requester, and cached them.
    for (const v of volunteers) {
      await goto(v.page, '#/models')
      const entry = v.page.getByTestId('job-model')
      await expect(entry).toHaveCount(1)
      await expect(entry).toHaveAttribute('data-source', 'peer')
      await expect(entry).toHaveAttribute('data-source-peer', requester.peerId)
      await expect(entry).toContainText('affine')
      await expect(entry).not.toContainText('not cached')
    }

    // The refuser computed nothing and says why.
    await expect(refuser.page.getByTestId('volunteer-status')).toContainText('turned off in Settings')
    await goto(refuser.page, '#/models')
    await expect(refuser.page.getByRole('heading', { name: 'Models from jobs' })).toBeVisible()
    await expect(refuser.page.getByTestId('job-model')).toHaveCount(0)
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('a shard whose input the model rejects at run time fails, saying which file and why; the rest is verified and the job ends; tried again, it fails again; deleted, it frees its model', async ({ browser }) => {
  test.setTimeout(360_000)
  // pairs.onnx reshapes x [N, 3] to [-1, 6]: 2 and 4 rows run, 3 rows cannot. The check
  // before posting passes all three ([N, 3] with N free); only running the model shows it.
  const files: TensorFile[] = [
    { name: 'two.npy', mimeType: 'application/octet-stream', buffer: npy([[1, 2, 3], [4, 5, 6]]) },
    { name: 'odd.npy', mimeType: 'application/octet-stream', buffer: npy([[1, 2, 3], [4, 5, 6], [7, 8, 9]]) },
    { name: 'four.npy', mimeType: 'application/octet-stream', buffer: npy([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]) }
  ]
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    // Three volunteers: the scheduler fails a shard after three give-ups, and lets a peer take a
    // shard it gave up again only once that lease would have run out (30 s). Three give it up at once.
    const requester = await openVolunteer(browser, [relay.addr])
    const volunteers = [await openVolunteer(browser, [relay.addr]), await openVolunteer(browser, [relay.addr]), await openVolunteer(browser, [relay.addr])]
    pages.push(requester, ...volunteers)
    for (const v of volunteers) await startContributing(v)
    await fullMesh(pages)

    const page = requester.page
    await goto(page, '#/submit')
    await page.getByTestId('submit-model').selectOption('(own)')
    await page.getByTestId('submit-byo-model').setInputFiles('test/fixtures/byo/pairs.onnx')
    await expect(page.getByTestId('submit-byo-io')).toContainText('[N, 3]')
    await page.getByTestId('submit-byo-inputs').setInputFiles(files)
    await expect(page.getByTestId('submit-estimate')).toContainText('3 files → 3 shards')
    // No canaries: the requester would run the odd file itself and refuse to post.
    await page.getByTestId('submit-policy').locator('summary').click()
    await page.getByTestId('submit-canaries').fill('0')
    await page.getByTestId('submit-post').click()
    await expect(page.getByTestId('job')).toBeVisible({ timeout: 60_000 })

    // Two volunteers give the odd shard up at once (two replicas), the third takes it then and
    // gives it up too: the shard fails, and the job is done.
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done', { timeout: 150_000 })
    expect(await verified(page)).toEqual([2, 3])
    const failures = page.getByTestId('job-failures').locator('li')
    await expect(failures).toHaveCount(1)
    await expect(failures).toHaveAttribute('data-shard', '1')
    await expect(failures).toContainText('odd.npy')
    await expect(failures).toContainText('(3 tries)')
    await expect(failures).toContainText('Reshape')
    await expect(page.locator('[data-testid="shard-row"][data-status="failed"]')).toHaveCount(1)
    expect((await page.getByTestId('tensor-result').evaluateAll(els => els.map(el => el.getAttribute('data-file'))))).toEqual(['two.npy', 'four.npy'])

    // Kept: after a reload the job is still done, with the same failure and reason.
    await page.reload()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done')
    expect(await verified(page)).toEqual([2, 3])
    await expect(page.getByTestId('job-failures').locator('li')).toContainText('odd.npy')
    await expect(page.getByTestId('job-failures').locator('li')).toContainText('Reshape')

    // Tried again: the job runs again, the volunteers take the shard up, and it fails the same way.
    await page.getByTestId('job-retry-failed').click()
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'running')
    await expect(page.getByTestId('job-failures')).toHaveCount(0)
    await expect(page.getByTestId('job')).toHaveAttribute('data-status', 'done', { timeout: 150_000 })
    expect(await verified(page)).toEqual([2, 3])
    await expect(page.getByTestId('job-failures').locator('li')).toContainText('odd.npy')

    // The requester stores the model for its job (volunteers fetch it from there): kept while the job is, freed with it.
    const model = toHex(sha256(await readFile('test/fixtures/byo/pairs.onnx')))
    const storedOn = (p: Page): ReturnType<Page['locator']> => p.locator(`[data-testid=stored-model][data-sha256="${model}"]`)
    await goto(page, '#/models')
    await expect(storedOn(page).getByTestId('stored-kept')).toBeVisible({ timeout: 30_000 })
    await expect(storedOn(page).getByTestId('stored-delete')).toHaveCount(0)
    // A volunteer fetched it for the job: there it is only a copy, deleted on request.
    const volunteer = volunteers[0]!.page
    await goto(volunteer, '#/models')
    await expect(storedOn(volunteer)).toHaveAttribute('data-name', 'pairs', { timeout: 30_000 })
    await storedOn(volunteer).getByTestId('stored-delete').click()
    await expect(storedOn(volunteer)).toHaveCount(0)
    await goto(page, '#/job')
    await page.getByTestId('job-delete').click()
    await page.getByTestId('job-delete-confirm').click()
    await expect(page.getByText('No such job in this browser.')).toBeVisible()
    await goto(page, '#/models')
    // Read: the list (of models it may have loaded for itself) or the note that there is none.
    await expect(page.getByTestId('stored-total').or(page.getByTestId('stored-empty'))).toBeVisible({ timeout: 30_000 })
    await expect(storedOn(page)).toHaveCount(0)
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

/** The blobs a peer serves, remembering every hash it was asked for. */
class AskedBlobs extends Map<string, Uint8Array> {
  readonly asked: string[] = []
  override get (sha256: string): Uint8Array | undefined {
    this.asked.push(sha256)
    return super.get(sha256)
  }
}

test('a volunteer refuses, once and saying why, a model with an unknown operator and one over the size cap', async ({ browser }) => {
  test.setTimeout(240_000)
  const unsupported = new Uint8Array(await readFile('test/fixtures/byo/unsupported-op.onnx'))
  // Zeros: only the declared or announced size matters, the volunteer must refuse before reading any.
  const huge = new Uint8Array(FOREIGN_MODEL_MAX_BYTES + 1)
  const hugeLegacy = new Uint8Array(FOREIGN_MODEL_MAX_BYTES + 2)
  const models = [
    { id: 'no-such-op', bytes: unsupported, declared: true },
    { id: 'too-big', bytes: huge, declared: true },
    { id: 'too-big-legacy', bytes: hugeLegacy, declared: false }
  ].map(m => ({ ...m, sha256: toHex(sha256(m.bytes)) }))
  const relay = await startRelayProcess()
  const blobs = new AskedBlobs(models.map(m => [m.sha256, m.bytes]))
  const asked = blobs.asked
  const requester = await Adversary.start({ relay: relay.addr, models: models.map(m => m.sha256), blobs })
  let volunteer: Volunteer | undefined
  try {
    volunteer = await openVolunteer(browser, [relay.addr])
    await startContributing(volunteer)
    await requester.connect(volunteer.peerId)
    const input = encodeTensors({ x: makeTensor('float32', [1, 3], [1, 2, 3]) })
    const manifests = models.map(m => requester.seal('job', {
      model: m.declared ? { id: m.id, sha256: m.sha256, bytes: m.bytes.length } : { id: m.id, sha256: m.sha256 },
      shards: [{ inputHash: sha256(input), bytes: input.length }],
      policy: { replicas: 1, quorum: 1, compare: { kind: 'exact' }, canaryRate: 0, deadline: Date.now() + 3600_000 }
    }))

    // Announced until the volunteer has refused all three (the gossip mesh may still be forming).
    await goto(volunteer.page, '#/models')
    const refused = volunteer.page.getByTestId('job-model-refused')
    await expect.poll(async () => {
      for (const m of manifests) await requester.publishRaw(TOPIC_JOBS, m).catch(() => {})
      return await refused.count()
    }, { timeout: 120_000, intervals: [2_000] }).toBe(3)
    const refusal = (i: number): ReturnType<Page['locator']> => volunteer!.page.locator(`[data-testid=job-model-refused][data-sha256="${models[i]!.sha256}"]`)
    await expect(refusal(0)).toContainText(/model no-such-op cannot run here: This model cannot run here \(not ONNX, or an unsupported operator\).*EssaimNoSuchOperator/)
    await expect(refusal(1)).toContainText(/model too-big cannot run here: The model too-big is 64\.0 MiB, over the 64\.0 MiB limit for models that are not in the catalog/)
    await expect(refusal(2)).toContainText(/model too-big-legacy cannot run here: The model too-big-legacy is 64\.0 MiB, over the 64\.0 MiB limit for models that are not in the catalog/)
    await expect(volunteer.page.getByTestId('job-model')).toHaveCount(1) // the unsupported one was fetched (and checked) before it failed to load
    // Declared too large: refused on the manifest's word, its bytes never asked for (the legacy one was, for its size).
    expect(asked).not.toContain(models[1]!.sha256)
    expect(asked).toContain(models[2]!.sha256)

    // Refused for good: the jobs are skipped with the reason, and their bytes are not asked for again.
    const serves = asked.length
    await goto(volunteer.page, '#/volunteer')
    await expect(volunteer.page.getByTestId('volunteer-status')).toContainText('cannot run here')
    await delay(6_000)
    expect(asked).toHaveLength(serves)
    await expect(volunteer.page.getByTestId('volunteer-status')).toContainText('cannot run here')
  } finally {
    await volunteer?.context.close().catch(() => {})
    await requester.stop()
    await relay.kill()
  }
})
