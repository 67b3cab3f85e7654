/**
 * The inference worker (a dedicated module Worker; inference never runs on
 * the UI thread). Speaks src/compute/protocol.ts.
 *
 * - Runtime: on the first `load`, picks WebGPU or WASM (providers.ts) and
 *   imports the matching onnxruntime-web build, its .wasm served from our own
 *   origin (vite emits it as an asset; no CDN, works offline). A WebGPU
 *   session that fails to build falls back to the WASM build, with the reason.
 * - Sessions: cached per model sha256 (a few, least recently used evicted);
 *   the bytes are re-hashed here before any session is created, whatever the
 *   caller already checked. A warm-up run follows creation.
 * - Runs: one at a time per worker (ORT sessions are not re-entrant); queued
 *   runs of a batchable model are concatenated along dim 0 (batch.ts).
 * - Shards: a `shard` request computes a whole shard here (shard-task.ts),
 *   its inferences going through the same queue; a VAD clip's frames then
 *   cost no message round trip to the page each.
 * - Cancel: a queued request is dropped at once; a request already inside
 *   ORT cannot be interrupted, so its result is discarded when it ends.
 */
/// <reference lib="webworker" />
import type * as Ort from 'onnxruntime-web'
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url'
import webgpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { decodeTensors, encodeTensors, type TensorMap } from '../core/tensors.ts'
import { sha256Hex } from '../core/bytes.ts'
import {
  BadInputError, CancelledError, ModelHashMismatchError, ModelNotLoadedError, OutOfMemoryError, ProviderUnavailableError, toWireError
} from './errors.ts'
import { checkInputs, fromOrtOutputs, sessionValueInfo, toOrtFeeds, zeroTensor, type TensorCtor } from './ort-tensors.ts'
import { batchKey, batchSize, concatBatch, splitBatch, MAX_BATCH_REQUESTS } from './batch.ts'
import { selectProvider, type ProviderName, type ProviderReason } from './providers.ts'
import { classifyOrtError as classify } from './classify.ts'
import { computeShard } from './shard-task.ts'
import { Lru } from '../core/lru.ts'
import type { LoadRequest, PrepareRequest, RunRequest, ShardRequest, ValueInfo, WorkerReply, WorkerRequest, WorkerSettings } from './protocol.ts'
import { PREPARE_MODEL } from './prepare-model.ts'

declare const self: DedicatedWorkerGlobalScope

/** Sessions kept alive at once; the least recently used one is released beyond this. */
const MAX_SESSIONS = 4

interface Runtime {
  ort: typeof Ort
  provider: ProviderName
  reason: ProviderReason
  threads: number
  ortVersion: string
}

interface Loaded {
  session: Ort.InferenceSession
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  batchable: boolean
  runtime: Runtime
}

/** What one run gave: its outputs, the run's time, how many requests shared it, and the runtime it ran on. */
interface RunOutcome { outputs: TensorMap, ms: number, batched: number, runtime: Runtime }

/** A queued inference; `id` is the request it belongs to (a `run`, or the `shard` it is part of). */
interface QueuedRun {
  id: number
  sha256: string
  feeds: TensorMap
  settle: (outcome: RunOutcome | Error) => void
}

let wasmRuntime: Promise<Runtime> | undefined
let gpuRuntime: Promise<Runtime> | undefined
let wasmReason: ProviderReason | undefined
const sessions = new Lru<string, Loaded>(MAX_SESSIONS)
const queue: QueuedRun[] = []
const cancelled = new Set<number>()
let running = false

function post (reply: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(reply, transfer)
}

async function importRuntime (provider: ProviderName, settings: WorkerSettings, reason: ProviderReason): Promise<Runtime> {
  const ort = provider === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm')
  ort.env.wasm.wasmPaths = { wasm: new URL(provider === 'webgpu' ? webgpuWasmUrl : wasmUrl, self.location.href).href }
  const threads = self.crossOriginIsolated ? Math.max(1, Math.floor(settings.threads)) : 1
  ort.env.wasm.numThreads = threads
  ort.env.wasm.proxy = false
  return { ort, provider, reason, threads, ortVersion: ort.env.versions.web ?? ort.env.versions.common }
}

/** The runtime for `settings`: decided once per worker (ORT's thread count cannot change after init). */
async function runtimeFor (settings: WorkerSettings): Promise<Runtime> {
  if (gpuRuntime === undefined && wasmRuntime === undefined) {
    const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter: () => Promise<unknown> } }).gpu
    const choice = await selectProvider({ gpu, preferGpu: settings.preferGpu, wasm: typeof WebAssembly === 'object' })
      .catch((err: Error) => { throw new ProviderUnavailableError(err.message) })
    if (choice.provider === 'webgpu') {
      gpuRuntime = importRuntime('webgpu', settings, choice.reason)
    } else {
      wasmReason = choice.reason
      wasmRuntime = importRuntime('wasm', settings, choice.reason)
    }
  }
  if (gpuRuntime !== undefined) {
    try {
      return await gpuRuntime
    } catch (err) {
      return await wasmFallback(settings, err instanceof Error ? err.message : String(err))
    }
  }
  return await wasmRuntime!
}

function wasmFallback (settings: WorkerSettings, why: string): Promise<Runtime> {
  wasmReason = { code: 'gpu-failed', error: why }
  gpuRuntime = undefined
  wasmRuntime ??= importRuntime('wasm', settings, wasmReason)
  return wasmRuntime
}

async function createSession (rt: Runtime, bytes: Uint8Array): Promise<Ort.InferenceSession> {
  return await rt.ort.InferenceSession.create(bytes, {
    executionProviders: rt.provider === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all'
  })
}

async function handleLoad (req: LoadRequest): Promise<void> {
  const t0 = performance.now()
  post({ type: 'progress', id: req.id, stage: 'hash' })
  const digest = await sha256Hex(req.bytes)
  if (digest !== req.sha256) throw new ModelHashMismatchError(`model bytes hash to ${digest}, expected ${req.sha256}: refusing to load them`)
  if (cancelled.has(req.id)) throw new CancelledError('load cancelled')
  let loaded = sessions.get(req.sha256)
  if (loaded === undefined) {
    post({ type: 'progress', id: req.id, stage: 'runtime' })
    // A runtime being prepared (handlePrepare) is finished first, whatever became of it.
    await preparing?.catch(() => {})
    const { rt, session } = await startSession(req.settings, req.bytes, () => { post({ type: 'progress', id: req.id, stage: 'session' }) })
    loaded = { session, inputs: sessionValueInfo(session.inputMetadata), outputs: sessionValueInfo(session.outputMetadata), batchable: req.batchable, runtime: rt }
    post({ type: 'progress', id: req.id, stage: 'warmup' })
    await warmUp(loaded)
    if (cancelled.has(req.id)) { await session.release(); throw new CancelledError('load cancelled') }
    for (const [, evicted] of sessions.set(req.sha256, loaded)) await evicted.session.release()
  }
  const rt = loaded.runtime
  post({
    type: 'ready', id: req.id, sha256: req.sha256, provider: rt.provider, reason: rt.provider === 'wasm' ? (wasmReason ?? rt.reason) : rt.reason,
    threads: rt.threads, ortVersion: rt.ortVersion, inputs: loaded.inputs, outputs: loaded.outputs, ms: performance.now() - t0
  })
}

/**
 * A session on `bytes` in the runtime for `settings`; a WebGPU session that
 * fails to build falls back to the WASM runtime, with the reason.
 */
async function startSession (settings: WorkerSettings, bytes: Uint8Array, onRuntime: () => void = () => {}): Promise<{ rt: Runtime, session: Ort.InferenceSession }> {
  let rt = await runtimeFor(settings)
  onRuntime()
  try {
    return { rt, session: await createSession(rt, bytes) }
  } catch (err) {
    if (rt.provider !== 'webgpu') throw classify(err, 'load')
    rt = await wasmFallback(settings, err instanceof Error ? err.message : String(err))
    return { rt, session: await createSession(rt, bytes).catch(e => { throw classify(e, 'load') }) }
  }
}

/** Set by the first `prepare`: the runtime started on a one-node model (PREPARE_MODEL). */
let preparing: Promise<Runtime> | undefined

async function handlePrepare (req: PrepareRequest): Promise<void> {
  const t0 = performance.now()
  preparing ??= (async () => {
    const { rt, session } = await startSession(req.settings, PREPARE_MODEL)
    await session.release()
    return rt
  })()
  // A failed start is not kept: the next prepare or load tries again.
  const rt = await preparing.catch((err: unknown) => { preparing = undefined; throw err })
  post({
    type: 'prepared', id: req.id, provider: rt.provider, reason: rt.provider === 'wasm' ? (wasmReason ?? rt.reason) : rt.reason,
    threads: rt.threads, ortVersion: rt.ortVersion, ms: performance.now() - t0
  })
}

/** One run on zeros so the first real run does not pay for kernel setup. Models whose zeros are invalid input (e.g. a sample-rate scalar) just skip it. */
async function warmUp (loaded: Loaded): Promise<void> {
  const feeds: TensorMap = {}
  for (const info of loaded.inputs) {
    const t = zeroTensor(info)
    if (t === undefined) return
    feeds[info.name] = t
  }
  try {
    // Fatal-only logging: a refused warm-up is expected here, not an error to print (VAD's STFT pads a 32-sample input).
    await loaded.session.run(toOrtFeeds(loaded.runtime.ort.Tensor as unknown as TensorCtor, feeds), { logSeverityLevel: 4 })
  } catch (err) {
    const e = classify(err, 'run')
    if (e instanceof OutOfMemoryError) throw e
  }
}

/**
 * The session loaded for `sha256`.
 * @throws {ModelNotLoadedError} if there is none (never loaded, or evicted).
 */
function loadedModel (sha256: string): Loaded {
  const loaded = sessions.get(sha256)
  if (loaded === undefined) throw new ModelNotLoadedError(`model ${sha256.slice(0, 12)}… is not loaded in this worker`)
  return loaded
}

/**
 * Queues one inference of `loaded` (the session of model `sha256`) on
 * `feeds` (checked against the model's inputs first) and drains the queue
 * from a new task: messages already waiting in the event loop are read
 * first, so runs join a batch and a cancel is seen before its run starts (a
 * small WASM run can finish within one task, before the next message is even
 * read). `now` drains at once: a shard's next VAD frame, which nothing else
 * can join, and which a timer per frame would slow (nested timers are
 * clamped to 4 ms).
 * @throws {BadInputError}, {InputShapeError}
 */
function enqueue (id: number, sha256: string, loaded: Loaded, feeds: TensorMap, settle: QueuedRun['settle'], now = false): void {
  checkInputs(loaded.inputs, feeds)
  queue.push({ id, sha256, feeds, settle })
  if (now) void drain()
  else setTimeout(() => { void drain() }, 0)
}

function handleRun (req: RunRequest): void {
  const loaded = loadedModel(req.sha256)
  const decoded = decodeTensors(req.input)
  if (!decoded.ok) throw new BadInputError(`input is not a valid tensor map: ${decoded.reason}`)
  enqueue(req.id, req.sha256, loaded, decoded.tensors, outcome => {
    const cancelledHere = cancelled.delete(req.id)
    if (outcome instanceof Error) { post({ type: 'error', id: req.id, error: toWireError(outcome) }); return }
    if (cancelledHere) { post({ type: 'error', id: req.id, error: toWireError(new CancelledError('run cancelled')) }); return }
    const { runtime: rt, ms, batched } = outcome
    const output = encodeTensors(outcome.outputs)
    post({ type: 'result', id: req.id, output, ms, provider: rt.provider, threads: rt.threads, ortVersion: rt.ortVersion, batched }, [output.buffer as ArrayBuffer])
  })
}

/** Computes a whole shard; its inferences are queued like runs, under the shard's id. */
async function handleShard (req: ShardRequest): Promise<void> {
  const loaded = loadedModel(req.sha256)
  let busyMs = 0
  const { output, samples } = await computeShard(req.processing, req.input, async feeds => {
    if (cancelled.has(req.id)) throw new CancelledError('shard cancelled')
    const outcome = await new Promise<RunOutcome>((resolve, reject) => {
      enqueue(req.id, req.sha256, loaded, feeds, o => { if (o instanceof Error) reject(o); else resolve(o) }, !loaded.batchable)
    })
    busyMs += outcome.ms / Math.max(1, outcome.batched)
    return outcome.outputs
  })
  if (cancelled.has(req.id)) throw new CancelledError('shard cancelled')
  const rt = loaded.runtime
  post({ type: 'shard-result', id: req.id, output, busyMs, samples, provider: rt.provider, threads: rt.threads, ortVersion: rt.ortVersion }, [output.buffer as ArrayBuffer])
}

/** Runs queued requests one batch at a time until the queue is empty. */
async function drain (): Promise<void> {
  if (running) return
  running = true
  try {
    while (queue.length > 0) {
      const head = queue.shift()!
      const loaded = sessions.get(head.sha256)
      if (loaded === undefined) { head.settle(new ModelNotLoadedError('model was evicted before its run')); continue }
      const group = [head]
      const key = loaded.batchable ? batchKey(head.feeds) : undefined
      if (key !== undefined && batchSize(head.feeds) !== undefined) {
        for (let i = 0; i < queue.length && group.length < MAX_BATCH_REQUESTS; i++) {
          const q = queue[i]!
          if (q.sha256 === head.sha256 && batchKey(q.feeds) === key && batchSize(q.feeds) !== undefined) { group.push(q); queue.splice(i--, 1) }
        }
      }
      await runGroup(loaded, group)
    }
  } finally {
    running = false
  }
}

async function runGroup (loaded: Loaded, group: QueuedRun[]): Promise<void> {
  const rt = loaded.runtime
  let pieces: TensorMap[]
  let ms: number
  try {
    const feeds = group.length === 1 ? group[0]!.feeds : concatBatch(group.map(g => g.feeds))
    const t0 = performance.now()
    const out = await loaded.session.run(toOrtFeeds(rt.ort.Tensor as unknown as TensorCtor, feeds))
    ms = performance.now() - t0
    const outputs = fromOrtOutputs(out as Record<string, Ort.Tensor>)
    for (const t of Object.values(out)) (t as Ort.Tensor).dispose()
    pieces = group.length === 1 ? [outputs] : splitBatch(outputs, group.map(g => batchSize(g.feeds)!))
  } catch (err) {
    const error = classify(err, 'run')
    for (const g of group) g.settle(error)
    return
  }
  group.forEach((g, i) => { g.settle({ outputs: pieces[i]!, ms, batched: group.length, runtime: rt }) })
}

/** Drops the request's queued runs at once; one already inside ORT cannot be interrupted, so its result is discarded when it ends. */
function handleCancel (id: number): void {
  cancelled.add(id)
  for (let i = queue.length - 1; i >= 0; i--) {
    const q = queue[i]!
    if (q.id === id) { queue.splice(i, 1); q.settle(new CancelledError('run cancelled')) }
  }
}

self.onmessage = (event: MessageEvent<WorkerRequest>): void => {
  const req = event.data
  switch (req.type) {
    case 'load':
      handleLoad(req)
        .catch(err => { post({ type: 'error', id: req.id, error: toWireError(classify(err, 'load')) }) })
        .finally(() => cancelled.delete(req.id))
      break
    case 'run':
      try { handleRun(req) } catch (err) { post({ type: 'error', id: req.id, error: toWireError(classify(err, 'run')) }) }
      break
    case 'shard':
      handleShard(req)
        .catch(err => { post({ type: 'error', id: req.id, error: toWireError(classify(err, 'run')) }) })
        .finally(() => cancelled.delete(req.id))
      break
    case 'prepare':
      handlePrepare(req)
        .catch(err => { post({ type: 'error', id: req.id, error: toWireError(classify(err, 'load')) }) })
      break
    case 'cancel':
      handleCancel(req.id)
      break
  }
}
