/**
 * What a pre/post-processing pipeline needs from a runtime: run one catalog
 * model on named tensors. In the browser it is the ComputeClient (so the
 * model runs in the worker, and what a volunteer computes for a shard is the
 * same bytes); in Node tests it is onnxruntime-node. Pipelines never import
 * ORT themselves, so requester previews, volunteers and the reference
 * fixtures all share one implementation.
 */
import type { TensorMap } from '../../core/tensors.ts'

export type RunModel = (modelId: string, inputs: TensorMap, options?: { signal?: AbortSignal }) => Promise<TensorMap>
