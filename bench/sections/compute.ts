/**
 * Baseline throughput: samples/s of bare onnxruntime-web (WASM) in real
 * Chromium for every catalog model, at 1 and 2 threads, on each model's
 * representative input (bench/compute-inputs.ts). This is what the swarm's
 * per-peer throughput is compared against. Runs in bench/compute.html, one
 * fresh Worker per measurement (ORT fixes its thread count at start).
 *
 * Keys (model id with '-' → '_'): raw_sps_<model>_t1, raw_sps_<model>_t2, and
 * raw_sps_<model> = the better of the two (what someone running bare
 * onnxruntime-web would pick). The swarm section's own baseline, on exactly
 * the batch a volunteer runs, is swarm_base_sps_<model>.
 *
 * In the same page, right after each 1-thread digits measurement: Ed25519 as
 * the hot path does it in the browser (sign_browser_per_s,
 * verify_browser_per_s), and signverify_share_digits_shard(8) = one signature
 * (the volunteer's attestation) + one verification (the requester's check)
 * ÷ the bare 1-thread compute of one 256-image (8-image) digits shard, per
 * repeat, then the median.
 *
 * Then what each gossip message costs the peer that receives it, checked as
 * the topic validators and the ledger check it (compute-page.ts
 * gossipCheckMs): gossip_check_ms_presence, _attestation, _receipt, wall ms
 * per message checked one after another. Every peer checks every message, so times
 * sim_gossip_checks_per_peer_s (the sim section) they are what gossip costs
 * each peer of a swarm of that size.
 */
import type { BenchContext, BenchFigures } from '../types.ts'
import { openBenchBrowser } from '../browser.ts'

const THREADS = [1, 2] as const
/** Signatures and verifications timed per repeat. */
const SIGN_VERIFY_COUNT = 500
/** Gossip messages of each kind checked per repeat. */
const GOSSIP_CHECK_COUNT = 1024

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const bb = await openBenchBrowser(4181)
  const figures: BenchFigures = {}
  const signs: number[] = []
  const verifies: number[] = []
  const shares: number[] = []
  try {
    const page = await bb.browser.newPage()
    await page.goto(`${bb.baseURL}/bench/compute.html`)
    await page.waitForFunction(() => document.getElementById('log')?.dataset.ready === 'true')
    if (!await page.evaluate(() => window.essaimCompute.crossOriginIsolated())) throw new Error('bench page is not cross-origin isolated: WASM threads unavailable')
    const ids = await page.evaluate(() => window.essaimCompute.ids())
    for (const id of ids) {
      const key = `raw_sps_${id.replace(/-/g, '_')}`
      for (const threads of THREADS) {
        const samples: number[] = []
        for (let i = 0; i < ctx.repeats; i++) {
          const r = await page.evaluate(async ([m, t]) => await window.essaimCompute.rawSps(m!, Number(t), 1500, 5), [id, String(threads)])
          if (!r.ok) throw new Error(`${id} at ${threads} thread(s): ${r.error}`)
          samples.push(r.sps)
          if (id === 'digits' && threads === 1) {
            const sv = await page.evaluate(async n => await window.essaimCompute.signVerifyMs(n), SIGN_VERIFY_COUNT)
            if (!sv.native) ctx.log('  (no native Ed25519 in this browser: sign/verify are pure JS)')
            signs.push(1000 / sv.signMs)
            verifies.push(1000 / sv.verifyMs)
            shares.push((sv.signMs + sv.verifyMs) / (256 * 1000 / r.sps))
          }
        }
        figures[`${key}_t${threads}`] = ctx.spread(`${key}_t${threads}`, samples)
        ctx.log(`  ${id} × ${threads} thread(s): ${figures[`${key}_t${threads}`]!.toFixed(1)} samples/s`)
      }
      figures[key] = Math.max(figures[`${key}_t1`]!, figures[`${key}_t2`]!)
    }
    if (shares.length > 0) {
      figures.sign_browser_per_s = ctx.spread('sign_browser_per_s', signs)
      figures.verify_browser_per_s = ctx.spread('verify_browser_per_s', verifies)
      figures.signverify_share_digits_shard = ctx.spread('signverify_share_digits_shard', shares)
      // An 8-image shard: the same signatures over 1/32 of the compute.
      figures.signverify_share_digits_shard8 = ctx.spread('signverify_share_digits_shard8', shares.map(x => x * 32))
      ctx.log(`  Ed25519 in the page: ${figures.sign_browser_per_s.toFixed(0)} signatures/s, ${figures.verify_browser_per_s.toFixed(0)} verifications/s; share of a 256-image shard ${figures.signverify_share_digits_shard.toFixed(4)}`)
    }
    const checks: Array<{ presence: number, attestation: number, receipt: number }> = []
    for (let i = 0; i < ctx.repeats; i++) checks.push(await page.evaluate(async n => await window.essaimCompute.gossipCheckMs(n), GOSSIP_CHECK_COUNT))
    for (const kind of ['presence', 'attestation', 'receipt'] as const) {
      figures[`gossip_check_ms_${kind}`] = ctx.spread(`gossip_check_ms_${kind}`, checks.map(c => c[kind]))
    }
    ctx.log(`  gossip checked per message: presence ${figures.gossip_check_ms_presence!.toFixed(3)} ms, attestation ${figures.gossip_check_ms_attestation!.toFixed(3)} ms, receipt ${figures.gossip_check_ms_receipt!.toFixed(3)} ms`)
  } finally {
    await bb.close()
  }
  return figures
}
