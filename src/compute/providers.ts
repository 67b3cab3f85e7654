/**
 * Execution provider and thread count selection, as pure functions of what
 * the platform offers, so the choice is unit-tested with fake `navigator.gpu`
 * objects, each with a reason code the UI explains to the user.
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

/**
 * Every {@link ProviderReason} code. Reasons are codes with parameters, not
 * words: the UI says each in the user's language (src/ui/reasons.ts).
 */
export const PROVIDER_CODES = ['gpu-available', 'gpu-off', 'no-webgpu', 'no-adapter', 'adapter-failed', 'gpu-failed', 'unavailable'] as const

/**
 * Why this provider: WebGPU because an adapter was granted, or WASM because
 * the user turned the GPU off, there is no WebGPU or no adapter, the adapter
 * request failed, or WebGPU failed once in use (`error` is its message).
 * `unavailable`: not even WASM (reported by the UI, never chosen here).
 */
export type ProviderReason =
  | { code: 'gpu-available' | 'gpu-off' | 'no-webgpu' | 'no-adapter' }
  | { code: 'adapter-failed' | 'gpu-failed' | 'unavailable', error: string }

export interface ProviderChoice {
  provider: ProviderName
  reason: ProviderReason
}

/**
 * Picks WebGPU when an adapter is granted, else WASM, with the reason.
 * Never throws: a throwing or hanging-then-rejecting `requestAdapter` means WASM.
 * @throws {Error} only if there is no WebAssembly either (the caller reports ProviderUnavailableError).
 */
export async function selectProvider (env: ProviderEnvironment): Promise<ProviderChoice> {
  const fallback = (reason: ProviderReason): ProviderChoice => {
    if (!env.wasm) throw new Error(`no WebGPU to use (${reason.code}), and this browser has no WebAssembly`)
    return { provider: 'wasm', reason }
  }
  if (!env.preferGpu) return fallback({ code: 'gpu-off' })
  if (env.gpu === undefined || env.gpu === null) return fallback({ code: 'no-webgpu' })
  let adapter: unknown
  try {
    adapter = await env.gpu.requestAdapter({ powerPreference: 'high-performance' })
  } catch (err) {
    return fallback({ code: 'adapter-failed', error: err instanceof Error ? err.message : String(err) })
  }
  if (adapter === null || adapter === undefined) return fallback({ code: 'no-adapter' })
  return { provider: 'webgpu', reason: { code: 'gpu-available' } }
}

export interface ThreadEnvironment {
  crossOriginIsolated: boolean
  /** `navigator.hardwareConcurrency` (may be undefined or 0 on some browsers). */
  hardwareConcurrency?: number | undefined
  /** The user's CPU budget in threads; undefined = all but one core. */
  budget?: number | undefined
}

/** Every {@link ThreadReason} code. */
export const THREAD_CODES = ['not-isolated', 'capped', 'all-but-one', 'budget'] as const

/**
 * Why this many threads: one without cross-origin isolation, the budget
 * capped by the cores, all but one core by default, or the user's budget.
 */
export type ThreadReason =
  | { code: 'not-isolated' | 'budget' }
  | { code: 'capped', wanted: number, cores: number }
  | { code: 'all-but-one', cores: number }

export interface ThreadChoice {
  threads: number
  reason: ThreadReason
}

/** Most threads we ever ask for: ORT's WASM backend gains little beyond this. */
export const MAX_THREADS = 16

/** WASM thread count from isolation, core count and the user's budget. */
export function selectThreads (env: ThreadEnvironment): ThreadChoice {
  if (!env.crossOriginIsolated) return { threads: 1, reason: { code: 'not-isolated' } }
  const cores = Number.isInteger(env.hardwareConcurrency) && (env.hardwareConcurrency ?? 0) > 0 ? env.hardwareConcurrency! : 1
  const wanted = env.budget === undefined ? Math.max(1, cores - 1) : Math.floor(env.budget)
  const threads = Math.max(1, Math.min(wanted, cores, MAX_THREADS))
  if (env.budget !== undefined && threads < wanted) return { threads, reason: { code: 'capped', wanted, cores } }
  return { threads, reason: env.budget === undefined ? { code: 'all-but-one', cores } : { code: 'budget' } }
}
