/**
 * The message protocol between {@link ComputeClient} (UI side) and the
 * inference worker, imported by both sides so each message is type-checked
 * (STYLE.md rule 7). Requests: `load | run | shard | cancel`. Replies:
 * `progress | ready | result | shard-result | error`, each carrying the
 * request `id` it answers.
 *
 * Tensors cross as `encodeTensors` bytes (src/core/tensors.ts): the same
 * canonical bytes whose sha256 is a shard's inputHash / outputHash, and a
 * single transferable buffer per message.
 */
import type { ProviderName, ProviderReason } from './providers.ts'
import type { ProcessingId } from './catalog.ts'
import type { ShardSamples } from './shard-samples.ts'
import type { WireError } from './errors.ts'

/** Execution settings the client fixes for the life of its worker. */
export interface WorkerSettings {
  /** WASM threads wanted (1 = no threads). The worker may lower it (no cross-origin isolation). */
  threads: number
  /** Try WebGPU first when an adapter exists. */
  preferGpu: boolean
}

/** Shape of one model input or output as the runtime reports it. */
export interface ValueInfo {
  name: string
  /** ONNX element type as ORT names it ('float32', 'int64', …), or 'unknown' for non-tensors. */
  type: string
  /** Dims; strings are symbolic (dynamic) dims. Empty if ORT does not know the shape. */
  shape: Array<number | string>
}

export interface LoadRequest {
  type: 'load'
  id: number
  /** Lowercase hex sha256 the bytes must hash to. */
  sha256: string
  bytes: Uint8Array
  settings: WorkerSettings
  /** Concatenate queued runs of this model along dim 0 (models whose every input and output has a batch dim 0). */
  batchable: boolean
}

export interface RunRequest {
  type: 'run'
  id: number
  sha256: string
  /** `encodeTensors` bytes of the model's named inputs. */
  input: Uint8Array
}

/** Computes a whole shard in the worker (src/compute/shard-task.ts): decoding, pre-processing and every inference it needs. */
export interface ShardRequest {
  type: 'shard'
  id: number
  sha256: string
  processing: ProcessingId
  /** The shard's input bytes as the requester sent them. */
  input: Uint8Array
}

/** Starts the runtime (imports onnxruntime-web, compiles its WASM) before any model is known. */
export interface PrepareRequest {
  type: 'prepare'
  id: number
  settings: WorkerSettings
}

export interface CancelRequest {
  type: 'cancel'
  /** The id of the load or run to cancel. */
  id: number
}

export type WorkerRequest = LoadRequest | RunRequest | ShardRequest | PrepareRequest | CancelRequest

export interface ProgressReply {
  type: 'progress'
  id: number
  stage: 'runtime' | 'hash' | 'session' | 'warmup'
}

export interface ReadyReply {
  type: 'ready'
  id: number
  sha256: string
  provider: ProviderName
  /** Why this provider (the UI words it). */
  reason: ProviderReason
  threads: number
  ortVersion: string
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  /** Session creation + warm-up time. */
  ms: number
}

export interface ResultReply {
  type: 'result'
  id: number
  /** `encodeTensors` bytes of the model's outputs. */
  output: Uint8Array
  /** Inference time of the run (of the whole batch when runs were batched). */
  ms: number
  provider: ProviderName
  threads: number
  ortVersion: string
  /** Number of requests this run was batched with (1 = alone). */
  batched: number
}

export interface ShardResultReply {
  type: 'shard-result'
  id: number
  /** `encodeTensors` bytes of the shard's output. */
  output: Uint8Array
  /** Inference time that was this shard's: its share of each batched run, summed over its runs. */
  busyMs: number
  /** The samples (images, lines, audio windows) the shard held, when the model's unit is known. */
  samples: ShardSamples | undefined
  provider: ProviderName
  threads: number
  ortVersion: string
}

export interface PreparedReply {
  type: 'prepared'
  id: number
  provider: ProviderName
  reason: ProviderReason
  threads: number
  ortVersion: string
  ms: number
}

export interface ErrorReply {
  type: 'error'
  id: number
  error: WireError
}

export type WorkerReply = ProgressReply | ReadyReply | ResultReply | ShardResultReply | PreparedReply | ErrorReply
