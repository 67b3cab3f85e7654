import { describe, expect, it } from 'vitest'
import { selectProvider, selectThreads, type GpuLike } from '../../../src/compute/providers.ts'

const adapterGpu: GpuLike = { requestAdapter: async () => ({ features: new Set(), limits: {} }) }
const nullGpu: GpuLike = { requestAdapter: async () => null }
const throwingGpu: GpuLike = { requestAdapter: async () => { throw new Error('GPU process crashed') } }

describe('selectProvider', () => {
  it('picks WebGPU when an adapter is granted', async () => {
    expect(await selectProvider({ gpu: adapterGpu, preferGpu: true, wasm: true })).toEqual({ provider: 'webgpu', reason: { code: 'gpu-available' } })
  })
  it('falls back to WASM when requestAdapter returns null', async () => {
    const c = await selectProvider({ gpu: nullGpu, preferGpu: true, wasm: true })
    expect(c).toEqual({ provider: 'wasm', reason: { code: 'no-adapter' } })
  })
  it('falls back to WASM when requestAdapter throws, quoting the error', async () => {
    const c = await selectProvider({ gpu: throwingGpu, preferGpu: true, wasm: true })
    expect(c).toEqual({ provider: 'wasm', reason: { code: 'adapter-failed', error: 'GPU process crashed' } })
  })
  it('falls back to WASM without navigator.gpu', async () => {
    const c = await selectProvider({ gpu: undefined, preferGpu: true, wasm: true })
    expect(c).toEqual({ provider: 'wasm', reason: { code: 'no-webgpu' } })
  })
  it('does not even ask for an adapter when the user turned the GPU off', async () => {
    let asked = false
    const spy: GpuLike = { requestAdapter: async () => { asked = true; return {} } }
    const c = await selectProvider({ gpu: spy, preferGpu: false, wasm: true })
    expect(c).toEqual({ provider: 'wasm', reason: { code: 'gpu-off' } })
    expect(asked).toBe(false)
  })
  it('throws when neither WebGPU nor WebAssembly is usable', async () => {
    await expect(selectProvider({ gpu: nullGpu, preferGpu: true, wasm: false })).rejects.toThrow(/no WebAssembly/)
  })
  it('still uses WebGPU without WebAssembly when an adapter exists', async () => {
    expect((await selectProvider({ gpu: adapterGpu, preferGpu: true, wasm: false })).provider).toBe('webgpu')
  })
})

describe('selectThreads', () => {
  it('is 1 without cross-origin isolation, whatever the budget', () => {
    const c = selectThreads({ crossOriginIsolated: false, hardwareConcurrency: 8, budget: 4 })
    expect(c).toEqual({ threads: 1, reason: { code: 'not-isolated' } })
  })
  it('defaults to all but one core', () => {
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: 8 })).toEqual({ threads: 7, reason: { code: 'all-but-one', cores: 8 } })
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: 1 }).threads).toBe(1)
  })
  it('follows the budget, capped by the cores', () => {
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: 8, budget: 2 })).toEqual({ threads: 2, reason: { code: 'budget' } })
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: 2, budget: 6 })).toEqual({ threads: 2, reason: { code: 'capped', wanted: 6, cores: 2 } })
  })
  it('treats a missing core count as 1 and a zero budget as 1', () => {
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: undefined }).threads).toBe(1)
    expect(selectThreads({ crossOriginIsolated: true, hardwareConcurrency: 4, budget: 0 }).threads).toBe(1)
  })
})
