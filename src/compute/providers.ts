/**
 * Execution provider and thread count selection, as pure functions of what
 * the platform offers, so the choice is unit-tested with fake `navigator.gpu`
 * objects and explained to the user in one sentence.
 *
 * Order: WebGPU when an adapter is granted and the user did not opt out, else
 * WASM (always last: it exists wherever WebAssembly does). Threads: WASM
 * threads need SharedArrayBuffer, which needs cross-origin isolation
 * (COOP/COEP); within that, the user's CPU budget capped by the core count.
 */

export type ProviderName = 'webgpu' | 'wasm'

/** The slice of `navigator.gpu` we use (the WebGPU `GPU` interface). */
export interface GpuLike {
  requestAdapter: (options?: { powerPreference?: 'high-performance' | 'low-power' }) => Promise<unknown>
}

export interface ProviderEnvironment {
  /** `navigator.gpu`, or undefined when the browser has no WebGPU. */
  gpu?: GpuLike | undefined
  /** False when the user turned GPU use off. */
  preferGpu: boolean
  /** `typeof WebAssembly === 'object'`. */
  wasm: boolean
}

export interface ProviderChoice {
  provider: ProviderName
  /** Why, in words for the user. */
  reason: string
}

/**
 * Picks WebGPU when an adapter is granted, else WASM, with the reason.
 * Never throws: a throwing or hanging-then-rejecting `requestAdapter` means WASM.
 * @throws {Error} only if there is no WebAssembly either (the caller reports ProviderUnavailableError).
 */
export async function selectProvider (env: ProviderEnvironment): Promise<ProviderChoice> {
  const fallback = (why: string): ProviderChoice => {
    if (!env.wasm) throw new Error(`${why}, and this browser has no WebAssembly`)
    return { provider: 'wasm', reason: `WASM (CPU): ${why}` }
  }
  if (!env.preferGpu) return fallback('GPU use is turned off in settings')
  if (env.gpu === undefined || env.gpu === null) return fallback('this browser has no WebGPU')
  let adapter: unknown
  try {
    adapter = await env.gpu.requestAdapter({ powerPreference: 'high-performance' })
  } catch (err) {
    return fallback(`WebGPU adapter request failed (${err instanceof Error ? err.message : String(err)})`)
  }
  if (adapter === null || adapter === undefined) return fallback('WebGPU is present but no GPU adapter is available')
  return { provider: 'webgpu', reason: 'WebGPU: a GPU adapter is available' }
}

export interface ThreadEnvironment {
  crossOriginIsolated: boolean
  /** `navigator.hardwareConcurrency` (may be undefined or 0 on some browsers). */
  hardwareConcurrency?: number | undefined
  /** The user's CPU budget in threads; undefined = all but one core. */
  budget?: number | undefined
}

export interface ThreadChoice {
  threads: number
  reason: string
}

/** Most threads we ever ask for: ORT's WASM backend gains little beyond this. */
export const MAX_THREADS = 16

/** WASM thread count from isolation, core count and the user's budget. */
export function selectThreads (env: ThreadEnvironment): ThreadChoice {
  if (!env.crossOriginIsolated) return { threads: 1, reason: '1 thread: the page is not cross-origin isolated, so WASM threads are unavailable' }
  const cores = Number.isInteger(env.hardwareConcurrency) && (env.hardwareConcurrency ?? 0) > 0 ? env.hardwareConcurrency! : 1
  const wanted = env.budget === undefined ? Math.max(1, cores - 1) : Math.floor(env.budget)
  const threads = Math.max(1, Math.min(wanted, cores, MAX_THREADS))
  if (env.budget !== undefined && threads < wanted) return { threads, reason: `${threads} threads: budget ${wanted} capped by ${cores} cores` }
  return { threads, reason: env.budget === undefined ? `${threads} thread${threads === 1 ? '' : 's'}: all but one of ${cores} cores` : `${threads} thread${threads === 1 ? '' : 's'}: your CPU budget` }
}
