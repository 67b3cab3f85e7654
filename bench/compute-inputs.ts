/**
 * The representative input of each catalog model for throughput figures:
 * symbolic dims fixed to a typical size, values deterministic (a fixed-seed
 * generator), so every run and every thread count measures the same work.
 * `samples` is how many user-level samples one run processes (digits run in
 * batches of 32, as the scheduler batches them; the others one at a time).
 */
import { makeTensor, type TensorMap } from '../src/core/tensors.ts'
import type { CatalogModel } from '../src/compute/catalog.ts'

export interface BenchInput { inputs: TensorMap, samples: number }

const SIZES: Record<string, Record<string, number>> = {
  digits: { N: 32 },
  'ocr-det': { N: 1, H: 160, W: 480 },
  'ocr-rec': { N: 1, W: 320 },
  vad: {}
}

/** Deterministic values in [0, 1) (mulberry32). */
function uniform (n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let a = seed >>> 0
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return out
}

/** `sizes` overrides symbolic dims, e.g. `{ N: 8 }` for the batch of one digits shard. */
export function benchInput (model: CatalogModel, overrides: Record<string, number> = {}): BenchInput {
  const sizes = { ...(SIZES[model.id] ?? { N: 1 }), ...overrides }
  const inputs: TensorMap = {}
  model.inputs.forEach((spec, k) => {
    const dims = spec.shape.map(d => typeof d === 'number' ? d : (sizes[d] ?? 1))
    const n = dims.reduce((a, b) => a * b, 1)
    if (model.id === 'vad' && spec.name === 'sr') inputs[spec.name] = makeTensor('int64', [], [16000n])
    else if (model.id === 'vad' && spec.name === 'state') inputs[spec.name] = makeTensor('float32', dims, new Float32Array(n))
    else if (spec.dtype === 'float32') inputs[spec.name] = makeTensor('float32', dims, uniform(n, 1 + k))
    else throw new Error(`bench input for ${model.id}.${spec.name} (${spec.dtype}) is not defined`)
  })
  return { inputs, samples: sizes.N ?? 1 }
}
