/**
 * The swarm in real Chromium over loopback, driven as users drive it: a
 * requester page posts jobs on the Submit page (1 replica, quorum 1, no
 * canaries) and volunteer pages, each in its own browser context, compute
 * them through the whole path (announce, pull over /essaim/work/1, input
 * transfer, inference in the worker, signing, attestation gossip,
 * requester checks, signed verdict, IndexedDB, receipts).
 *
 * Per repeat (fresh relay and pages each time):
 * 1. five pages (requester, two volunteers, two observers) form a mesh; for
 *    a few seconds every page records how long each heartbeat took from
 *    its signed `ts` to its row in the page's peer table → gossip_ms_*;
 * 2. both volunteers start; a small warm-up job per model loads the model
 *    in both (the first one gives first_verified_ms: posting → first
 *    verdict, with model fetch and load);
 * 3. per model: bare onnxruntime-web samples/s on the batch one inference
 *    of the volunteer runs (swarm_base_sps_<key>: small shards of a batchable
 *    model run 8 at a time, see src/swarm/pull-pace.ts) at the
 *    volunteers' pinned thread count, in a worker warmed up for 3 s first
 *    (a fresh worker runs WASM unoptimised for its first seconds, and VAD's
 *    bare rate then read half of what it is: no bound on a volunteer's
 *    long-warm worker), then a job with volunteer B stopped
 *    (swarm_sps_<key>), then B restarted and the same size of job again
 *    (swarm2_sps_<key>). efficiency = swarm/base and scale2 = swarm2/swarm
 *    are taken within the repeat, then the median.
 *
 * Digits run twice: with shards of 256 images (`digits`, a realistic
 * shard: ~50 ms of inference, which dwarfs the tens of ms of signatures,
 * verdict and receipt each shard costs across the pages) and with the
 * Submit page's default of 8 (`digits_shard8`, ~2 ms of inference: the
 * per-shard overhead then dominates, and the figure shows how much).
 *
 * Rates come from the requester's signed verdict timestamps (see
 * bench/swarm-driver.ts steadySps), not from wall clocks around Playwright.
 */
import type { Browser, Page } from '@playwright/test'
import type { BenchContext, BenchFigures } from '../types.ts'
import { openBenchBrowser } from '../browser.ts'
import { peerRows, startRelayProcess } from '../../test/e2e/support/swarm.ts'
import { digitFiles, digitsWarmUp, speechFiles, textFiles, vadFrames, type InputFile } from '../swarm-inputs.ts'
import { WORK_MAX_BATCH } from '../../src/net/constants.ts'
import {
  advertisedThreads, attestedMs, gossipDelays, jobTimes, ocrReadingJob, openApp, postJob, recordGossip, shardInputs, startContributing, steadySps, stopContributing, waitDone, workerUse,
  type AppPage, type JobTimes
} from '../swarm-driver.ts'

/** Repeats of the whole scenario (each takes two to three minutes). */
const MAX_REPEATS = 3
const PAGES = 5
const GOSSIP_WINDOW_MS = 12_000
/** WASM threads of every page (the CPU budget, pinned): one per volunteer, as the scale2 target asks. */
const THREADS = 1

interface ModelRun {
  /** Catalog model id, and the key its figures are reported under. */
  id: string
  key: string
  /** Job files and shards for the measured jobs and for the warm-up. */
  job: () => SwarmJob
  warm: () => SwarmJob
  /** Samples (images, VAD frames) per shard of the measured jobs. */
  perShard: number
  /** Symbolic dims of the bare baseline's input: the batch one inference of the volunteer runs. */
  rawSizes: Record<string, number>
}

interface SwarmJob {
  files: InputFile[]
  shards: number
  /** Images per shard, typed on the Submit page (digits). */
  perShard?: number
}

const speech = speechFiles(1, 'probe')
/** `group`: shards the volunteer runs as one inference (src/swarm/pull-pace.ts: small shards are grouped up to ~10 ms). */
const digitsRun = (key: string, perShard: number, shards: number, group: number): ModelRun => ({
  id: 'digits',
  key,
  job: () => ({ files: digitFiles(perShard * shards, `d${Date.now()}`), shards, perShard }),
  warm: digitsWarmUp,
  perShard,
  rawSizes: { N: perShard * group }
})
const MODELS: ModelRun[] = [
  digitsRun('digits', 256, 48, 1),
  digitsRun('digits_shard8', 8, 128, WORK_MAX_BATCH),
  {
    id: 'vad',
    key: 'vad',
    job: () => ({ files: speechFiles(24, `s${Date.now()}`).files, shards: 24 }),
    warm: () => ({ files: speechFiles(4, `w${Date.now()}`).files, shards: 4 }),
    // A VAD shard is a whole clip, run frame by frame; its samples are frames.
    perShard: vadFrames(speech.samples),
    rawSizes: {}
  }
]

/**
 * OCR: one job of OCR_IMAGES text images (the fixture moved a few pixels
 * each, two lines per image) runs both stages: `ocr_det` (one image per
 * shard) then `ocr_rec` (one line per shard), each reported like a model.
 * Their shards differ in size (image sides, line widths), so the baseline is
 * the volunteer's own shard code (`runShard`) run alone on exactly the
 * inputs the requester stored for that stage, one after another, in a
 * ComputeClient of bench/compute.html at the volunteers' thread count.
 */
const OCR_IMAGES = 24
const OCR_WARM_IMAGES = 8
const OCR_KEYS = ['ocr_det', 'ocr_rec'] as const
const OCR_MODEL_IDS = { ocr_det: 'ocr-det', ocr_rec: 'ocr-rec' } as const

function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!
}

async function waitForMesh (pages: Page[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (const page of pages) {
    while ((await peerRows(page)).filter(r => r.link === 'direct-webrtc').length < pages.length - 1) {
      if (Date.now() > deadline) throw new Error(`no full mesh of ${pages.length} pages within ${timeoutMs} ms`)
      await page.waitForTimeout(50)
    }
  }
}

async function rawSps (page: Page, model: ModelRun, threads: number): Promise<number> {
  const r = await page.evaluate(async ([id, t, sizes]) => await window.essaimCompute.rawSps(id, Number(t), 2000, 5, JSON.parse(sizes) as Record<string, number>),
    [model.id, String(threads), JSON.stringify(model.rawSizes)] as const)
  if (!r.ok) throw new Error(`raw ${model.id}: ${r.error}`)
  return r.sps
}

/** Posts a job and returns its verdict times once it is done, and how long posting took (postJob). */
async function runJob (requester: Page, model: ModelRun, job: SwarmJob): Promise<JobTimes & { postMs: number, ms: Map<string, Map<number, number>> }> {
  const { jobId, postMs } = await postJob(requester, model.id, job.files, job.shards, job.perShard)
  await waitDone(requester, jobId)
  return { ...await jobTimes(requester, jobId, job.shards), postMs, ms: await attestedMs(requester) }
}

/** One stage of an OCR job; `postMs` is the posting of the whole job (stage 1), NaN for stage 2 (the requester posts it itself); `ms` as attestedMs. */
interface StageRun { times: JobTimes, inputs: string[], postMs: number, ms: Map<string, Map<number, number>> }

/** Posts an OCR job of `images` files and returns both stages' verdict times and stored inputs once it is done. */
async function runOcrJob (requester: Page, images: number, tag: string): Promise<Record<typeof OCR_KEYS[number], StageRun>> {
  const { jobId, postMs } = await postJob(requester, 'ocr-det', textFiles(images, tag), images)
  await waitDone(requester, jobId, 300_000)
  const reading = await ocrReadingJob(requester, jobId)
  return {
    ocr_det: { times: await jobTimes(requester, jobId, images), inputs: await shardInputs(requester, jobId, images), postMs, ms: await attestedMs(requester, 'find') },
    ocr_rec: { times: await jobTimes(requester, reading.jobId, reading.shards), inputs: await shardInputs(requester, reading.jobId, reading.shards), postMs: NaN, ms: await attestedMs(requester, 'read-1') }
  }
}

async function shardSps (page: Page, modelId: string, inputs: string[], threads: number): Promise<number> {
  return (await page.evaluate(async ([id, list, t]) => await window.essaimCompute.shardSps(id, list, t), [modelId, inputs, threads] as const)).sps
}

/** Per model and repeat: bare, one- and two-volunteer rates, and how the one volunteer's worker was used (workerUse). */
interface ModelResult { raw: number, one: number, two: number, firstWarmMs: number, postMs: number, busy: number, msPerSample: number }

interface RepeatResult {
  gossip: number[]
  firstVerifiedMs: number
  threads: number
  perModel: Map<string, ModelResult>
}

async function oneRepeat (browser: Browser, baseURL: string, ctx: BenchContext): Promise<RepeatResult> {
  const relay = await startRelayProcess()
  const opened: AppPage[] = []
  const rawContext = await browser.newContext()
  try {
    for (let i = 0; i < PAGES; i++) opened.push(await openApp(browser, baseURL, relay.addr, { threads: THREADS }))
    const [requester, a, b] = opened as [AppPage, AppPage, AppPage, ...AppPage[]]
    await waitForMesh(opened.map(v => v.page))
    await Promise.all(opened.map(async v => { await recordGossip(v.page) }))
    await requester.page.waitForTimeout(GOSSIP_WINDOW_MS)
    const gossip = (await Promise.all(opened.map(async v => await gossipDelays(v.page)))).flat()
    // The observers have served their purpose: fewer pages competing for the two cores.
    for (const v of opened.slice(3)) await v.context.close()
    const { threads } = await advertisedThreads(requester.page, a.peerId)
    if (threads !== THREADS) throw new Error(`volunteer advertises ${threads} thread(s), not the ${THREADS} its CPU budget was set to`)

    const rawPage = await rawContext.newPage()
    await rawPage.goto(`${baseURL}/bench/compute.html`)
    await rawPage.waitForFunction(() => document.getElementById('log')?.dataset.ready === 'true')

    await startContributing(a.page)
    await startContributing(b.page)
    let firstVerifiedMs = NaN
    const perModel = new Map<string, ModelResult>()
    for (const model of MODELS) {
      // Warm-up until both volunteers have computed (so both hold the model).
      for (let attempt = 0; ; attempt++) {
        const warm = await runJob(requester.page, model, model.warm())
        if (Number.isNaN(firstVerifiedMs)) firstVerifiedMs = warm.verified[0]!.at - warm.postedAt
        const workers = new Set(warm.verified.flatMap(v => v.peers))
        if (workers.has(a.peerId) && workers.has(b.peerId)) break
        // Not fatal: steadySps counts each volunteer from its own first verdict.
        if (attempt === 1) { ctx.log(`  ${model.id}: a volunteer computed nothing in two warm-up jobs; it loads the model during the measured job`); break }
      }
      const raw = await rawSps(rawPage, model, threads)
      await stopContributing(b.page)
      const oneJob = await runJob(requester.page, model, model.job())
      const one = steadySps(oneJob, model.perShard)
      await startContributing(b.page)
      const twoJob = await runJob(requester.page, model, model.job())
      const two = steadySps(twoJob, model.perShard)
      const use = workerUse(oneJob, oneJob.ms.get(a.peerId) ?? new Map(), model.perShard)
      perModel.set(model.key, { raw, one: one.sps, two: two.sps, firstWarmMs: oneJob.verified[0]!.at - oneJob.postedAt, postMs: oneJob.postMs, ...use })
      ctx.log(`  ${model.key}: base ${raw.toFixed(0)}/s, swarm ${one.sps.toFixed(0)}/s (${(one.sps / raw).toFixed(3)}; worker busy ${use.busy.toFixed(2)}, ` +
        `×${(use.msPerSample * raw / 1000).toFixed(2)} bare time per sample), ` +
        `2 volunteers ${two.sps.toFixed(0)}/s (${[...two.byPeer.values()].map(x => x.toFixed(0)).join(' + ')}; ×${(two.sps / one.sps).toFixed(2)})`)
    }
    // OCR: both volunteers read a warm-up job (each loads both models), then one volunteer, then two.
    await runOcrJob(requester.page, OCR_WARM_IMAGES, `ow${Date.now()}`)
    await stopContributing(b.page)
    const oneOcr = await runOcrJob(requester.page, OCR_IMAGES, `o${Date.now()}`)
    await startContributing(b.page)
    const twoOcr = await runOcrJob(requester.page, OCR_IMAGES, `o${Date.now()}`)
    for (const key of OCR_KEYS) {
      const raw = await shardSps(rawPage, OCR_MODEL_IDS[key], oneOcr[key].inputs, threads)
      const one = steadySps(oneOcr[key].times, 1)
      const two = steadySps(twoOcr[key].times, 1)
      const use = workerUse(oneOcr[key].times, oneOcr[key].ms.get(a.peerId) ?? new Map(), 1)
      perModel.set(key, { raw, one: one.sps, two: two.sps, firstWarmMs: oneOcr[key].times.verified[0]!.at - oneOcr[key].times.postedAt, postMs: oneOcr[key].postMs, ...use })
      ctx.log(`  ${key}: base ${raw.toFixed(1)}/s, swarm ${one.sps.toFixed(1)}/s (${(one.sps / raw).toFixed(3)}; worker busy ${use.busy.toFixed(2)}, ` +
        `×${(use.msPerSample * raw / 1000).toFixed(2)} bare time per sample), ` +
        `2 volunteers ${two.sps.toFixed(1)}/s (${[...two.byPeer.values()].map(x => x.toFixed(1)).join(' + ')}; ×${(two.sps / one.sps).toFixed(2)})`)
    }
    return { gossip, firstVerifiedMs, threads, perModel }
  } finally {
    await Promise.all(opened.map(async v => { await v.context.close().catch(() => {}) }))
    await rawContext.close().catch(() => {})
    await relay.kill()
  }
}

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const bb = await openBenchBrowser(4182)
  const repeats: RepeatResult[] = []
  try {
    const n = Math.min(ctx.repeats, MAX_REPEATS)
    for (let i = 0; i < n; i++) {
      const r = await oneRepeat(bb.browser, bb.baseURL, ctx)
      repeats.push(r)
      ctx.log(`  run ${i + 1}/${n}: gossip p50 ${percentile(r.gossip, 0.5)} ms p95 ${percentile(r.gossip, 0.95)} ms (${r.gossip.length} heartbeats), first verified ${r.firstVerifiedMs} ms, ${r.threads} thread(s)`)
    }
  } finally {
    await bb.close()
  }
  const threads = new Set(repeats.map(r => r.threads))
  if (threads.size !== 1) throw new Error(`volunteer thread count changed between repeats: ${[...threads].join(', ')}`)
  const figures: BenchFigures = {
    swarm_threads: repeats[0]!.threads,
    gossip_ms_p50: ctx.spread('gossip_ms_p50', repeats.map(r => percentile(r.gossip, 0.5))),
    gossip_ms_p95: ctx.spread('gossip_ms_p95', repeats.map(r => percentile(r.gossip, 0.95))),
    gossip_samples: Math.min(...repeats.map(r => r.gossip.length)),
    first_verified_ms: ctx.spread('first_verified_ms', repeats.map(r => r.firstVerifiedMs))
  }
  for (const key of [...MODELS.map(m => m.key), ...OCR_KEYS]) {
    const runs = repeats.map(r => r.perModel.get(key)!)
    figures[`swarm_base_sps_${key}`] = ctx.spread(`swarm_base_sps_${key}`, runs.map(r => r.raw))
    figures[`swarm_sps_${key}`] = ctx.spread(`swarm_sps_${key}`, runs.map(r => r.one))
    figures[`efficiency_${key}`] = ctx.spread(`efficiency_${key}`, runs.map(r => r.one / r.raw))
    figures[`swarm2_sps_${key}`] = ctx.spread(`swarm2_sps_${key}`, runs.map(r => r.two))
    figures[`scale2_${key}`] = ctx.spread(`scale2_${key}`, runs.map(r => r.two / r.one))
    figures[`first_verified_warm_ms_${key}`] = ctx.spread(`first_verified_warm_ms_${key}`, runs.map(r => r.firstWarmMs))
    if (runs.every(r => Number.isFinite(r.postMs))) figures[`post_ms_${key}`] = ctx.spread(`post_ms_${key}`, runs.map(r => r.postMs))
    figures[`worker_busy_${key}`] = ctx.spread(`worker_busy_${key}`, runs.map(r => r.busy))
    figures[`worker_slowdown_${key}`] = ctx.spread(`worker_slowdown_${key}`, runs.map(r => r.msPerSample * r.raw / 1000))
  }
  return figures
}
