/**
 * Batching of queued runs: requests for the same batchable model whose inputs
 * agree on names, dtypes and every dim but the first are concatenated along
 * dim 0, run once, and the outputs split back by each request's batch size.
 * Sound because WASM results are bit-identical across batch sizes (DESIGN.md
 * "Determinism"), and worth it because small models spend most of a run in
 * per-call overhead.
 */
import { ITEM_SIZE, type TensorMap } from '../core/tensors.ts'

/** Largest number of requests merged into one run. */
export const MAX_BATCH_REQUESTS = 32

/** A key equal for two tensor maps iff they can be concatenated along dim 0. */
export function batchKey (map: TensorMap): string | undefined {
  const parts: string[] = []
  for (const name of Object.keys(map).sort()) {
    const t = map[name]!
    if (t.dims.length === 0) return undefined
    parts.push(`${name}:${t.dtype}:${t.dims.slice(1).join('x')}`)
  }
  return parts.join('|')
}

/** Batch size of a map (dim 0 of its tensors), or undefined if they disagree. */
export function batchSize (map: TensorMap): number | undefined {
  const sizes = new Set(Object.values(map).map(t => t.dims[0]))
  return sizes.size === 1 ? [...sizes][0] : undefined
}

/** Concatenates maps with equal {@link batchKey} along dim 0. */
export function concatBatch (maps: TensorMap[]): TensorMap {
  const first = maps[0]
  if (first === undefined) throw new TypeError('concatBatch: no maps')
  const out: TensorMap = {}
  for (const name of Object.keys(first)) {
    const parts = maps.map(m => m[name]!)
    const total = parts.reduce((n, t) => n + t.data.length, 0)
    const data = new Uint8Array(total)
    let at = 0
    for (const p of parts) { data.set(p.data, at); at += p.data.length }
    const t0 = first[name]!
    out[name] = { dtype: t0.dtype, dims: [parts.reduce((n, t) => n + t.dims[0]!, 0), ...t0.dims.slice(1)], data }
  }
  return out
}

/**
 * Splits a batched output map into pieces of `sizes` rows (dim 0).
 * @throws {RangeError} if an output's dim 0 is not the sum of `sizes` (the model does not batch on dim 0).
 */
export function splitBatch (map: TensorMap, sizes: number[]): TensorMap[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  const out: TensorMap[] = sizes.map(() => ({}))
  for (const [name, t] of Object.entries(map)) {
    if (t.dims[0] !== total) throw new RangeError(`output ${name} has dim 0 = ${String(t.dims[0])}, not the batch of ${total}`)
    const rowBytes = t.dims.slice(1).reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype]
    let row = 0
    sizes.forEach((n, i) => {
      out[i]![name] = { dtype: t.dtype, dims: [n, ...t.dims.slice(1)], data: t.data.slice(row * rowBytes, (row + n) * rowBytes) }
      row += n
    })
  }
  return out
}
