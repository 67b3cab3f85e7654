/**
 * `ComputeClient`: the UI-side handle on one inference worker. It owns the
 * worker, numbers requests, turns replies back into promises and named
 * errors (errors.ts), and maps AbortSignals onto `cancel` messages. Nothing
 * here runs a model: every inference happens in worker.ts.
 *
 * Thread count and GPU preference are fixed per client (ORT cannot change
 * them after it starts); make another client to measure another setting.
 *
 * A worker that dies (an uncaught error, a message it cannot read) takes its
 * requests with it: they fail with WorkerFailedError, and the next request
 * starts a fresh worker, which has no model loaded (ModelNotLoadedError
 * tells the caller to load it again). Without that one crash left a
 * volunteer failing every shard it pulled until the page was reloaded.
 * After {@link MAX_RESTARTS} restarts the client stays failed.
 */
import { CancelledError, WorkerFailedError, reviveComputeError } from './errors.ts'
import type { ProviderName, ProviderReason } from './providers.ts'
import type { PreparedReply, ProgressReply, ReadyReply, ResultReply, ShardResultReply, ValueInfo, WorkerReply, WorkerRequest, WorkerSettings } from './protocol.ts'
import type { ProcessingId } from './catalog.ts'

export interface ComputeClientInit {
  /** WASM threads wanted; the worker uses 1 without cross-origin isolation. */
  threads: number
  /** Try WebGPU first when an adapter exists (default true). */
  preferGpu?: boolean
  /** Creates the worker (tests and benches may point elsewhere). */
  createWorker?: () => Worker
}

/** A model loaded in the worker. */
export interface LoadedModel {
  sha256: string
  provider: ProviderName
  reason: ProviderReason
  threads: number
  ortVersion: string
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  /** Hash check + session creation + warm-up. */
  ms: number
}

/** One inference. */
export interface RunResult {
  /** `encodeTensors` bytes of the outputs. */
  output: Uint8Array
  ms: number
  provider: ProviderName
  threads: number
  ortVersion: string
  batched: number
}

/** The runtime a prepared worker started: provider, threads, version, and how long starting it took. */
export type PreparedRuntime = Omit<PreparedReply, 'type' | 'id'>

/** One shard computed in the worker: its output, its share of worker time, its samples (protocol.ts ShardResultReply). */
export type ShardRunResult = Omit<ShardResultReply, 'type' | 'id'>

export interface LoadOptions {
  signal?: AbortSignal
  /** Allow queued runs to be concatenated along dim 0 (catalog `batchable`). */
  batchable?: boolean
  onProgress?: (stage: ProgressReply['stage']) => void
}

type FinalReply = ReadyReply | ResultReply | ShardResultReply | PreparedReply

interface Pending {
  resolve: (reply: FinalReply) => void
  reject: (err: Error) => void
  onProgress?: ((stage: ProgressReply['stage']) => void) | undefined
}

function defaultWorker (): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'essaim-compute' })
}

/** Fresh workers a client starts after its worker died, before it gives up. */
export const MAX_RESTARTS = 3

export class ComputeClient {
  private worker: Worker | undefined
  private readonly createWorker: () => Worker
  private readonly settings: WorkerSettings
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private restarts = 0
  /** Set for good: terminated, or the worker died once too often. */
  private failed: Error | undefined

  constructor (init: ComputeClientInit) {
    this.settings = { threads: init.threads, preferGpu: init.preferGpu ?? true }
    this.createWorker = init.createWorker ?? defaultWorker
    this.worker = this.start()
  }

  /** Why this client will run nothing more (terminated, or its worker died once too often), or undefined. */
  get broken (): Error | undefined {
    return this.failed
  }

  private start (): Worker {
    const worker = this.createWorker()
    worker.onmessage = (e: MessageEvent<WorkerReply>) => { if (this.worker === worker) this.onReply(e.data) }
    worker.onerror = (e: ErrorEvent) => { this.died(worker, new WorkerFailedError(`compute worker failed: ${e.message ?? 'script error'}`)) }
    worker.onmessageerror = () => { this.died(worker, new WorkerFailedError('compute worker sent an unreadable message')) }
    return worker
  }

  /** The current worker, or a fresh one if the last died. */
  private live (): Worker {
    if (this.worker !== undefined) return this.worker
    this.restarts++
    this.worker = this.start()
    return this.worker
  }

  /**
   * Loads a model into the worker; the worker re-checks `sha256` before creating a session.
   * @throws {ModelHashMismatchError} if the bytes do not hash to `sha256`.
   * @throws {UnsupportedModelError} not ONNX, or an operator the runtime lacks.
   * @throws {OutOfMemoryError}, {ProviderUnavailableError}, {CancelledError} (signal aborted).
   */
  async load (model: { sha256: string, bytes: Uint8Array }, options: LoadOptions = {}): Promise<LoadedModel> {
    const reply = await this.request(id => ({
      type: 'load', id, sha256: model.sha256, bytes: model.bytes, settings: this.settings, batchable: options.batchable ?? false
    }), options.signal, options.onProgress) as ReadyReply
    const { type: _t, id: _i, ...loaded } = reply
    return loaded
  }

  /**
   * Starts the worker's runtime before any model is known: imports
   * onnxruntime-web and compiles its WASM (seconds on a phone or a busy
   * machine), so the first model a job brings loads without that wait.
   * Loads made meanwhile wait for it; calling it again costs nothing.
   * @throws {ProviderUnavailableError}, {OutOfMemoryError}, {CancelledError}.
   */
  async prepare (options: { signal?: AbortSignal } = {}): Promise<PreparedRuntime> {
    const reply = await this.request(id => ({ type: 'prepare', id, settings: this.settings }), options.signal) as PreparedReply
    const { type: _t, id: _i, ...prepared } = reply
    return prepared
  }

  /**
   * Runs a loaded model on `input` (`encodeTensors` bytes of its named inputs).
   * The input buffer is copied, never transferred, so the caller keeps it (e.g. to hash it).
   * @throws {BadInputError} undecodable tensors, wrong names or dtypes.
   * @throws {InputShapeError} dims that do not fit the model.
   * @throws {ModelNotLoadedError}, {OutOfMemoryError}, {CancelledError}.
   */
  async run (sha256: string, input: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const reply = await this.request(id => ({ type: 'run', id, sha256, input }), options.signal) as ResultReply
    const { type: _t, id: _i, ...result } = reply
    return result
  }

  /**
   * Computes a whole shard in the worker (src/compute/shard-task.ts): decoding,
   * the model's pre-processing and every inference happen there, so nothing
   * but the shard's bytes and its output cross to this thread.
   * The input buffer is copied, never transferred.
   * @throws {BadInputError} the input does not decode or lacks what the processing needs.
   * @throws {InputShapeError}, {ModelNotLoadedError}, {OutOfMemoryError}, {CancelledError}.
   */
  async runShard (sha256: string, processing: ProcessingId, input: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<ShardRunResult> {
    const reply = await this.request(id => ({ type: 'shard', id, sha256, processing, input }), options.signal) as ShardResultReply
    const { type: _t, id: _i, ...result } = reply
    return result
  }

  /** Stops the worker; pending requests fail with WorkerFailedError. */
  terminate (): void {
    this.worker?.terminate()
    this.worker = undefined
    this.fail(new WorkerFailedError('compute worker terminated'))
  }

  private async request (make: (id: number) => WorkerRequest, signal?: AbortSignal, onProgress?: Pending['onProgress']): Promise<FinalReply> {
    if (this.failed !== undefined) throw this.failed
    if (signal?.aborted === true) throw new CancelledError('cancelled before it started')
    const worker = this.live()
    const id = this.nextId++
    return await new Promise<FinalReply>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return
        worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest)
        reject(new CancelledError('cancelled'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.pending.set(id, {
        resolve: r => { signal?.removeEventListener('abort', onAbort); resolve(r) },
        reject: e => { signal?.removeEventListener('abort', onAbort); reject(e) },
        onProgress
      })
      worker.postMessage(make(id))
    })
  }

  private onReply (reply: WorkerReply): void {
    const p = this.pending.get(reply.id)
    if (p === undefined) return // cancelled on this side already
    if (reply.type === 'progress') { p.onProgress?.(reply.stage); return }
    this.pending.delete(reply.id)
    if (reply.type === 'error') p.reject(reviveComputeError(reply.error))
    else p.resolve(reply)
  }

  /** `worker` died: what it held fails with `err`; the next request starts another, unless it died too often. */
  private died (worker: Worker, err: Error): void {
    if (this.worker !== worker) return
    worker.terminate()
    this.worker = undefined
    if (this.restarts >= MAX_RESTARTS) { this.fail(new WorkerFailedError(`${err.message} (and ${MAX_RESTARTS} fresh workers before it)`)); return }
    this.rejectAll(err)
  }

  private fail (err: Error): void {
    this.failed ??= err
    this.rejectAll(err)
  }

  private rejectAll (err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}
