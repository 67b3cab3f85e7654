/**
 * Drives the real app for the swarm bench, the way a user does (buttons,
 * file inputs), and reads timings the app already keeps, without any hook
 * in src/: the signed timestamps of the job manifest and of each verdict
 * (from the requester's IndexedDB, opened and signature-checked here with
 * src/core), and heartbeat timestamps (a heartbeat's `seq` is its signed
 * `ts`, see src/net/presence.ts) as each page's peer table shows them.
 */
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { open, type Envelope } from '../src/core/envelope.ts'
import { toHex } from '../src/core/bytes.ts'
import { peerIdOf } from '../src/net/peer-keys.ts'
import { digitsWarmUp, type InputFile } from './swarm-inputs.ts'

export interface AppPage { context: BrowserContext, page: Page, peerId: string }

/**
 * Opens the app in a fresh browser context (its own profile: its own key and
 * IndexedDB) and waits for its peer id. `threads` pins the CPU budget, as
 * the Settings page stores it (localStorage `essaim:power`), before the app
 * starts: the compute worker takes its thread count at start.
 */
export async function openApp (browser: Browser, baseURL: string, relay: string, options: { threads?: number } = {}): Promise<AppPage> {
  const power = { allowBackground: false, budget: options.threads === undefined ? {} : { threads: options.threads } }
  const context = await browser.newContext({
    baseURL,
    storageState: { cookies: [], origins: [{ origin: new URL(baseURL).origin, localStorage: [{ name: 'essaim:power', value: JSON.stringify(power) }] }] }
  })
  const page = await context.newPage()
  await page.goto(`/?relay=${encodeURIComponent(relay)}#/volunteer`)
  const peerId = (await page.getByTestId('own-peer-id').textContent({ timeout: 30_000 }))?.trim() ?? ''
  if (peerId === '') throw new Error('the app did not show its peer id')
  return { context, page, peerId }
}

/**
 * A requester page and `volunteers` contributing volunteer pages, one
 * thread each, every volunteer with the digits model loaded (a warm-up job
 * posted and done).
 */
export async function digitsSwarm (browser: Browser, baseURL: string, relay: string, volunteers: number): Promise<{ requester: AppPage, volunteers: AppPage[] }> {
  const requester = await openApp(browser, baseURL, relay, { threads: 1 })
  const opened = await Promise.all(Array.from({ length: volunteers }, async () => await openApp(browser, baseURL, relay, { threads: 1 })))
  for (const v of opened) await startContributing(v.page)
  const warm = digitsWarmUp()
  const { jobId } = await postJob(requester.page, 'digits', warm.files, warm.shards, warm.perShard)
  await waitDone(requester.page, jobId)
  return { requester, volunteers: opened }
}

/** The contribute control: the Volunteer page's "contribute-*" button, or the power controls' "consent-*" one that replaces it. */
async function control (page: Page, state: 'start' | 'stop'): Promise<string> {
  const own = `[data-testid="contribute-${state}"]`
  return await page.locator(own).count() > 0 ? own : `[data-testid="consent-${state}"]`
}

/** Presses "Start contributing" (the explicit consent) and waits until the page shows it is on. */
export async function startContributing (page: Page): Promise<void> {
  await page.locator(await control(page, 'start')).first().click()
  await page.locator(`[data-testid="contribute-stop"], [data-testid="consent-stop"]`).first().waitFor({ timeout: 30_000 })
}

/** Presses "Stop contributing"; shards in hand are abandoned (their leases are reassigned). */
export async function stopContributing (page: Page): Promise<void> {
  await page.locator(await control(page, 'stop')).first().click()
  await page.locator(`[data-testid="contribute-start"], [data-testid="consent-start"]`).first().waitFor({ timeout: 30_000 })
}

/** Shards this volunteer computed this session, as its page shows. */
export async function shardsDone (page: Page): Promise<number> {
  return Number(await page.getByTestId('shards-done').getAttribute('data-count', { timeout: 10_000 }))
}

/**
 * Posts a job on the Submit page with 1 replica, quorum 1 and no canaries
 * (so the figure is the cost of the path, not of redundancy) and returns
 * its id once the job page shows it, and `postMs`: from the click on Post to
 * the job page (reading the files into shards, signing, storing). `perShard`
 * sets "Images per shard" (digits).
 */
export async function postJob (page: Page, modelId: string, files: InputFile[], shards: number, perShard?: number): Promise<{ jobId: string, postMs: number }> {
  await page.goto(page.url().replace(/#.*$/, '#/submit'))
  await page.getByTestId('submit-model').selectOption(modelId)
  // The policy inputs live in a closed <details>: open it, as a user would.
  await page.locator('details:has([data-testid="submit-replicas"]) > summary').click()
  await page.getByTestId('submit-replicas').fill('1')
  await page.getByTestId('submit-quorum').fill('1')
  await page.getByTestId('submit-canaries').fill('0')
  if (perShard !== undefined) await page.getByTestId('submit-per-shard').fill(String(perShard))
  await page.getByTestId('submit-files').setInputFiles(files)
  await page.getByTestId('submit-estimate').filter({ hasText: `→ ${shards} shard` }).waitFor({ timeout: 30_000 })
  const started = Date.now()
  await page.getByTestId('submit-post').click()
  await page.waitForURL(/#\/job\?id=/, { timeout: 120_000 })
  const postMs = Date.now() - started
  const jobId = new URLSearchParams(page.url().split('?').at(-1) ?? '').get('id') ?? ''
  if (jobId === '') throw new Error('posting did not open a job page')
  return { jobId, postMs }
}

/** Waits until the job page says the job is done. */
export async function waitDone (page: Page, jobId: string, timeoutMs = 120_000): Promise<void> {
  await page.locator(`[data-testid="job"][data-job-id="${jobId}"][data-status="done"]`).waitFor({ timeout: timeoutMs })
}

export interface Verified { shard: number, at: number, peers: string[] }

export interface JobTimes {
  /** Signed `ts` of the job manifest: when the requester posted it. */
  postedAt: number
  /** The first verdict on each shard (signed `ts`, credited peer ids), by time. */
  verified: Verified[]
}

/**
 * The job's signed timestamps, read from the requester's IndexedDB (store
 * `jobs` for the manifest, `log` for verdicts; src/store/db.ts) and opened
 * here, so a figure rests on what the requester signed. Waits until every
 * shard's verdict is stored (writes trail the job page by a few ms).
 */
export async function jobTimes (page: Page, jobId: string, shards: number): Promise<JobTimes> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const raw = await withStore<{ manifest: string | null, verdicts: string[] }>(page, `async (id) => {
      const job = await read('jobs', id)
      const log = await read('log')
      return { manifest: job === undefined ? null : b64(job.manifest), verdicts: log.map(b64) }
    }`, jobId)
    if (raw.manifest === null) throw new Error(`job ${jobId} is not in the requester's store`)
    const manifest = open(Buffer.from(raw.manifest, 'base64'), { kinds: ['job'] })
    if (!manifest.ok) throw new Error(`stored manifest does not open: ${manifest.error.message}`)
    const first = new Map<number, Verified>()
    for (const text of raw.verdicts) {
      const opened = open(Buffer.from(text, 'base64'), { kinds: ['verdict'] })
      if (!opened.ok) throw new Error(`stored verdict does not open: ${opened.error.message}`)
      const v = opened.envelope as Envelope<'verdict'>
      if (toHex(v.body.jobId) !== jobId) continue
      if ((first.get(v.body.shard)?.at ?? Infinity) <= v.ts) continue
      first.set(v.body.shard, { shard: v.body.shard, at: v.ts, peers: v.body.credited.map(k => peerIdOf(k)) })
    }
    if (first.size >= shards) return { postedAt: manifest.envelope.ts, verified: [...first.values()].sort((a, b) => a.at - b.at) }
    if (Date.now() > deadline) throw new Error(`only ${first.size}/${shards} verdicts of ${jobId} stored`)
    await page.waitForTimeout(100)
  }
}

/**
 * Runs `body`, an async arrow `(arg) => …` given as source text, in the page
 * with its IndexedDB open: `read(store, key)` gets a value (all values
 * without a key) and `b64(bytes)` encodes bytes. A string, not a function:
 * tsx would wrap named inner functions in a helper the page lacks.
 */
async function withStore<T> (page: Page, body: string, arg: unknown): Promise<T> {
  return await page.evaluate(`(async (arg) => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('essaim')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const read = (store, key) => new Promise((resolve, reject) => {
      const os = db.transaction(store, 'readonly').objectStore(store)
      const req = key === undefined ? os.getAll() : os.get(key)
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const b64 = u8 => { let s = ''; for (const b of u8) s += String.fromCharCode(b); return btoa(s) }
    try {
      return await (${body})(arg)
    } finally {
      db.close()
    }
  })(${JSON.stringify(arg)})`) as T
}

/** The shard inputs of a job as its requester stored them (`encodeTensors` bytes, packed or not), base64, in shard order. */
export async function shardInputs (page: Page, jobId: string, shards: number): Promise<string[]> {
  return await withStore<string[]>(page, `async ({ id, n }) => {
    const inputs = await Promise.all(Array.from({ length: n }, (_, i) => read('inputs', [id, i])))
    const missing = inputs.findIndex(x => x === undefined)
    if (missing >= 0) throw new Error('no stored input for shard ' + missing)
    return inputs.map(b64)
  }`, { id: jobId, n: shards })
}

/** The recognition job (stage 2) an OCR job posted, and its shards (one per line). */
export async function ocrReadingJob (page: Page, jobId: string): Promise<{ jobId: string, shards: number }> {
  const found = await withStore<Array<{ jobId: string, shards: number }>>(page, `async (parent) => {
    const jobs = await read('jobs')
    return jobs.filter(j => j.meta?.kind === 'ocr-rec' && j.meta.parent === parent).map(j => ({ jobId: j.jobId, shards: j.meta.crops.length }))
  }`, jobId)
  if (found.length !== 1) throw new Error(`OCR job ${jobId} has ${found.length} recognition jobs, expected 1`)
  return found[0]!
}

/**
 * Steady-state samples/s of a job, summed over the volunteers: for each
 * volunteer, the least-squares slope of its verified shard count against
 * the verdicts' signed times, times the samples one shard holds. A
 * volunteer hands results in several at a time, so its verdicts come in
 * steps; the slope of a staircase is its true rate, where "shards 2…n over
 * first to last verdict" would count the first step's shards as done in no
 * time. The first shard's own latency (announce, model load, first pull)
 * is `first_verified_ms`. Summing per volunteer, rather than counting all
 * verdicts over the job's span, keeps the estimate unbiased when two
 * volunteers finish shards in lockstep.
 */
/**
 * Worker time each volunteer's attestation claims per shard (the `ms` the
 * volunteer signed, shown in the job page's shard table), by peer and shard,
 * for the job on the page; `stage` picks one stage of an OCR job ('find',
 * 'read-1', …).
 */
export async function attestedMs (page: Page, stage?: string): Promise<Map<string, Map<number, number>>> {
  const rows = await page.getByTestId('shard-row').evaluateAll(els => els.map(el => ({
    stage: el.getAttribute('data-stage') ?? '',
    shard: Number(el.getAttribute('data-shard')),
    answers: [...el.querySelectorAll('[data-testid=shard-answer]')].map(a => ({ peer: a.getAttribute('data-peer') ?? '', ms: Number(a.getAttribute('data-ms')) }))
  })))
  const out = new Map<string, Map<number, number>>()
  for (const row of rows) {
    if (stage !== undefined && row.stage !== stage) continue
    for (const a of row.answers) {
      const byShard = out.get(a.peer) ?? new Map<number, number>()
      byShard.set(row.shard, a.ms)
      out.set(a.peer, byShard)
    }
  }
  return out
}

/**
 * How busy one volunteer's worker was during a job it computed alone, and
 * how long it took per sample: `busy` = attested worker time of the shards
 * verified after the first ÷ the time from the first verdict to the last;
 * `msPerSample` = all its attested worker time ÷ its samples. With the bare
 * rate, efficiency ≈ busy ÷ (msPerSample × bare samples per ms): the worker
 * either waits for work, or runs slower than alone.
 */
export function workerUse (times: JobTimes, ms: Map<number, number>, samplesPerShard: number): { busy: number, msPerSample: number } {
  const verified = times.verified.filter(v => ms.has(v.shard))
  if (verified.length === 0) return { busy: NaN, msPerSample: NaN }
  const span = verified.at(-1)!.at - verified[0]!.at
  const after = verified.slice(1).reduce((n, v) => n + ms.get(v.shard)!, 0)
  const total = verified.reduce((n, v) => n + ms.get(v.shard)!, 0)
  return { busy: span > 0 ? after / span : NaN, msPerSample: total / (verified.length * samplesPerShard) }
}

export function steadySps (times: JobTimes, samplesPerShard: number): { sps: number, byPeer: Map<string, number> } {
  const byPeer = new Map<string, number[]>()
  for (const v of times.verified) for (const p of v.peers) byPeer.set(p, [...(byPeer.get(p) ?? []), v.at])
  const all = times.verified.map(v => v.at)
  const jobSpan = Math.max(...all) - Math.min(...all)
  const rates = new Map<string, number>()
  for (const [peer, at] of byPeer) {
    // A volunteer that took part only briefly (e.g. it loaded the model while the other did nearly all
    // the work) has a few verdicts close together, whose slope says nothing about a rate (two verdicts
    // 5 ms apart would count as hundreds of shards per second): its shards count over the job's span.
    const span = Math.max(...at) - Math.min(...at)
    const slope = at.length >= MIN_SLOPE_POINTS && span >= jobSpan / 4 ? countSlope(at) : undefined
    if (slope !== undefined) rates.set(peer, slope * samplesPerShard * 1000)
    else if (jobSpan > 0) rates.set(peer, at.length / jobSpan * samplesPerShard * 1000)
  }
  if (rates.size === 0) throw new Error('a rate needs a volunteer with verdicts at two different times')
  return { sps: [...rates.values()].reduce((a, b) => a + b, 0), byPeer: rates }
}

/** Verdicts a volunteer needs before its own slope is its rate in {@link steadySps}. */
const MIN_SLOPE_POINTS = 4

/** Least-squares slope (per ms) of k = 1…n against sorted times t_k; undefined if all times are equal. */
export function countSlope (times: number[]): number | undefined {
  const t = [...times].sort((a, b) => a - b)
  const n = t.length
  if (n < 2) return undefined
  const meanT = t.reduce((a, b) => a + b, 0) / n
  const meanK = (n + 1) / 2
  let cov = 0
  let varT = 0
  t.forEach((x, i) => { cov += (x - meanT) * (i + 1 - meanK); varT += (x - meanT) ** 2 })
  return varT === 0 ? undefined : cov / varT
}

/** WASM threads a peer advertises in its heartbeat, as `page`'s peer table shows it ("wasm × 1"). */
export async function advertisedThreads (page: Page, peerId: string): Promise<{ provider: string, threads: number }> {
  const text = await page.locator(`[data-testid="peer-row"][data-peer-id="${peerId}"] td`).nth(4).textContent({ timeout: 30_000 }) ?? ''
  const m = /(\w+)\s*×\s*(\d+)/.exec(text)
  if (m === null) throw new Error(`no compute details for ${peerId}: "${text}"`)
  return { provider: m[1]!, threads: Number(m[2]) }
}

/**
 * Starts recording, on `page`, the delay from each heartbeat's signed `ts`
 * (its `seq`) to the moment the page's peer table shows it. All pages run
 * in one browser on one machine, so they share a clock.
 */
export async function recordGossip (page: Page): Promise<void> {
  await page.evaluate(() => {
    const delays: number[] = []
    ;(globalThis as unknown as { benchGossip: number[] }).benchGossip = delays
    new MutationObserver(records => {
      const now = Date.now()
      for (const r of records) {
        const el = r.target as Element
        if (el.getAttribute('data-testid') !== 'peer-row') continue
        const seq = Number(el.getAttribute('data-seq'))
        if (seq > 1e12) delays.push(now - seq)
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-seq'] })
  })
}

export async function gossipDelays (page: Page): Promise<number[]> {
  return await page.evaluate(() => (globalThis as unknown as { benchGossip?: number[] }).benchGossip ?? [])
}
