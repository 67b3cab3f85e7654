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
 */
import type { BenchContext, BenchFigures } from '../types.ts'
import { openBenchBrowser } from '../browser.ts'

const THREADS = [1, 2] as const

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const bb = await openBenchBrowser(4181)
  const figures: BenchFigures = {}
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
        }
        figures[`${key}_t${threads}`] = ctx.spread(`${key}_t${threads}`, samples)
        ctx.log(`  ${id} × ${threads} thread(s): ${figures[`${key}_t${threads}`]!.toFixed(1)} samples/s`)
      }
      figures[key] = Math.max(figures[`${key}_t1`]!, figures[`${key}_t2`]!)
    }
  } finally {
    await bb.close()
  }
  return figures
}
