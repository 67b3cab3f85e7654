/**
 * Bare onnxruntime-web, the baseline the swarm is measured against: one
 * session, one input, `session.run` in a loop, nothing of Essaim's worker
 * protocol, hashing or batching around it. One Worker per thread count,
 * because ORT fixes its thread pool when it first initialises.
 *
 * ORT is imported dynamically, as in src/compute/worker.ts: its pthread
 * workers load the script that holds ORT, and if that were this file (a
 * static import bundles ORT into it) they would run our onmessage and hang.
 */
/// <reference lib="webworker" />
import type * as Ort from 'onnxruntime-web'
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url'
import type { TensorMap } from '../src/core/tensors.ts'
import { fromOrtOutputs, toOrtFeeds, type TensorCtor } from '../src/compute/ort-tensors.ts'

declare const self: DedicatedWorkerGlobalScope

export interface RawRequest { modelUrl: string, threads: number, inputs: TensorMap, samples: number, minMs: number, minRuns: number, warmMs: number }
export type RawReply = { ok: true, sps: number, runs: number, ms: number, threads: number, ortVersion: string, outputNames: string[] } | { ok: false, error: string }

self.onmessage = async (e: MessageEvent<RawRequest>) => {
  const req = e.data
  try {
    const ort = await import('onnxruntime-web/wasm')
    ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, self.location.href).href }
    ort.env.wasm.numThreads = req.threads
    const bytes = new Uint8Array(await (await fetch(req.modelUrl)).arrayBuffer())
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })
    const feeds = toOrtFeeds(ort.Tensor as unknown as TensorCtor, req.inputs)
    const first = fromOrtOutputs(await session.run(feeds) as Record<string, Ort.Tensor>)
    // Warm-up: V8 runs WASM through its baseline compiler first and swaps in optimised code as
    // functions get hot, so a fresh worker is slower for its first seconds than a volunteer's
    // long-running one (whose rate the baseline must bound).
    for (const t0 = performance.now(); performance.now() - t0 < req.warmMs;) await session.run(feeds)
    let runs = 0
    const t0 = performance.now()
    while (runs < req.minRuns || performance.now() - t0 < req.minMs) {
      await session.run(feeds)
      runs++
    }
    const ms = performance.now() - t0
    await session.release()
    self.postMessage({ ok: true, sps: runs * req.samples * 1000 / ms, runs, ms, threads: req.threads, ortVersion: ort.env.versions.web ?? '', outputNames: Object.keys(first) } satisfies RawReply)
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies RawReply)
  }
}
