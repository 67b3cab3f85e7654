/**
 * Posting a job from files: build the shard inputs, compute the canaries'
 * answers here (a canary is a shard whose answer the requester knows, mixed
 * into volunteers' work as a spot check), then sign, store and announce the
 * manifest. Progress is reported at each step so the page can show it.
 */
import type { JobPolicy } from '../core/schemas.ts'
import type { CatalogModel } from '../compute/catalog.ts'
import type { Peer } from './peer.ts'
import type { Runtime } from './runtime.ts'
import { buildInputs, canaryShards, type JobMeta } from './job-kinds.ts'

export type SubmitStage =
  | { stage: 'reading', done: number, total: number }
  /** Loading the model to compute canaries, or keeping it for volunteers; `model` is a catalog id or a file name. */
  | { stage: 'model', step: 'loading' | 'keeping', model: string }
  | { stage: 'canaries', done: number, total: number }
  | { stage: 'posting' }

/** Least time between two progress reports while reading files. */
const READING_REPORT_MS = 100

/** What posting will cost, shown before the user confirms. */
export interface Estimate { shards: number, canaries: number, computations: number }

export function estimate (shards: number, policy: JobPolicy): Estimate {
  const canaries = canaryShards(shards, policy.canaryRate).length
  return { shards, canaries, computations: (shards - canaries) * policy.replicas }
}

/**
 * Builds, prepares and posts a job.
 * @returns the job id.
 * @throws {BadInputError} a file is unusable (names it).
 * @throws {ModelUnavailableError}, compute errors while computing canaries, {StoreQuotaError}.
 */
export async function submitJob (runtime: Runtime, peer: Peer, model: CatalogModel, files: readonly File[], policy: JobPolicy, options: {
  title?: string
  signal?: AbortSignal
  onStage?: (s: SubmitStage) => void
  /** Images per digits shard (job-kinds.ts `digitsPerShard`). */
  perShard?: number
} = {}): Promise<string> {
  const report = options.onStage ?? (() => {})
  // A page update per file cost more than a tenth of reading 12,288 small images: a few a second are enough to watch.
  let reportedAt = -Infinity
  const onProgress = (done: number): void => {
    const now = performance.now()
    if (done < files.length && now - reportedAt < READING_REPORT_MS) return
    reportedAt = now
    report({ stage: 'reading', done, total: files.length })
  }
  const built = await buildInputs(model, files, { onProgress, signal: options.signal, ...(options.perShard !== undefined ? { perShard: options.perShard } : {}) })
  const canaries = new Map<number, Uint8Array>()
  const picks = canaryShards(built.inputs.length, policy.canaryRate)
  if (picks.length > 0) {
    report({ stage: 'model', step: 'loading', model: model.id })
    const { bytes } = await peer.loadModel(model, { signal: options.signal })
    await runtime.client.load({ sha256: model.sha256, bytes }, { signal: options.signal, batchable: model.batchable })
    for (const [i, shard] of picks.entries()) {
      report({ stage: 'canaries', done: i, total: picks.length })
      const output = (await runtime.client.runShard(model.sha256, model.processing, built.inputs[shard]!, { signal: options.signal })).output
      canaries.set(shard, output)
    }
  }
  // Cancelled up to here, nothing is posted; from here on the post completes.
  options.signal?.throwIfAborted()
  report({ stage: 'posting' })
  return await runtime.requester.post({
    title: options.title ?? `${model.title}: ${files.length} file${files.length === 1 ? '' : 's'}`,
    model: { id: model.id, sha256: model.sha256 },
    inputs: built.inputs,
    policy,
    canaries,
    meta: built.meta satisfies JobMeta
  })
}
