/**
 * Jobs with the requester's own .onnx ("bring your own model"): the model is
 * not in the catalog, so the requester vouches for it. Posting one:
 *
 * 1. the model bytes (at most FOREIGN_MODEL_MAX_BYTES, the cap volunteers
 *    enforce too) go into this profile's model cache, which the blob service
 *    serves and presence heartbeats advertise, so volunteers fetch them from
 *    here (or from peers that already did) and check the manifest's sha256;
 *    the cache is IndexedDB, so a reloaded requester still serves them;
 * 2. the model is loaded in this tab's worker: that checks it is ONNX the
 *    runtime can run, and gives its input names, types and shapes;
 * 3. each input file (.json, or .npy for a one-input model) becomes one
 *    shard, checked against those inputs before anything is posted;
 * 4. canaries are computed here, as for catalog models, then the job is posted.
 *
 * Replicas are compared within a tolerance by default: WASM results differ
 * by about 1e-5 across thread counts (DESIGN.md "Determinism").
 */
import { encodeTensors, type TensorMap } from '../core/tensors.ts'
import type { CompareRule, JobPolicy } from '../core/schemas.ts'
import { sha256Hex } from '../core/bytes.ts'
import { aboutFile, BadInputError } from '../compute/errors.ts'
import { FOREIGN_MODEL_MAX_BYTES, ModelTooLargeError } from '../compute/foreign-model.ts'
import { MAX_INPUT_BYTES, npyTensors, parseJsonTensors } from '../compute/models/byo.ts'
import { checkInputs } from '../compute/ort-tensors.ts'
import type { ValueInfo } from '../compute/protocol.ts'
import type { Peer } from './peer.ts'
import type { Runtime } from './runtime.ts'
import { canaryShards, type BuiltInputs } from './job-kinds.ts'
import type { SubmitStage } from './submit.ts'

/** Default comparison of replicas of a job with the requester's own model. */
export const BYO_COMPARE: CompareRule = { kind: 'allclose', atol: 1e-4, rtol: 1e-3 }

/** A model file the requester dropped, read and hashed. */
export interface ByoModel {
  /** The file name, for titles. */
  name: string
  /** The id the manifest carries (printable ASCII without spaces, ≤ 64). */
  id: string
  sha256: string
  bytes: Uint8Array
}

/** A manifest model id from a file name: `affine.onnx` → `affine`; other characters become `-`. */
export function byoModelId (fileName: string): string {
  const base = fileName.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64)
  return base === '' ? 'model' : base
}

/**
 * Reads and hashes a dropped .onnx.
 * @throws {ModelTooLargeError} over the cap volunteers accept.
 * @throws {BadInputError} an empty file.
 */
export async function readByoModel (file: { name: string, size: number, arrayBuffer: () => Promise<ArrayBuffer> }): Promise<ByoModel> {
  const id = byoModelId(file.name)
  if (file.size > FOREIGN_MODEL_MAX_BYTES) throw new ModelTooLargeError(id, file.size, FOREIGN_MODEL_MAX_BYTES)
  if (file.size === 0) throw new BadInputError(`${file.name} is empty`, { code: 'empty-file', params: { file: file.name } })
  const bytes = new Uint8Array(await file.arrayBuffer())
  return { name: file.name, id, sha256: await sha256Hex(bytes), bytes }
}

/** An input file as read from disk. */
export interface InputFile { name: string, bytes: Uint8Array }

/**
 * The tensors of one shard from one file: a .json (`{ "<input>": nested
 * array, … }`, or a bare array for a one-input model) or, for a one-input
 * model, a .npy. Checked against the model's declared inputs.
 * @throws {BadInputError} or {InputShapeError}, the message starting with the file name.
 */
export function shardTensors (file: InputFile, inputs: readonly ValueInfo[]): TensorMap {
  try {
    if (file.bytes.length > MAX_INPUT_BYTES) throw new BadInputError(`larger than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB limit of a shard`, { code: 'input-too-large', params: { limit: MAX_INPUT_BYTES } })
    let map: TensorMap
    if (/\.npy$/i.test(file.name)) {
      if (inputs.length !== 1) throw new BadInputError(`the model takes ${inputs.length} inputs (${inputs.map(i => i.name).join(', ')}): give each shard as one .json keyed by input name`)
      map = npyTensors([file], inputs)
    } else if (/\.json$/i.test(file.name)) {
      map = parseJsonTensors(new TextDecoder().decode(file.bytes), inputs)
    } else {
      throw new BadInputError('not a .json or .npy file', { code: 'not-tensor-file' })
    }
    checkInputs(inputs, map)
    return map
  } catch (err) {
    throw aboutFile(err, file.name)
  }
}

/**
 * One shard per file, in the order given.
 * @throws {BadInputError} or {InputShapeError} naming the first unusable file.
 */
export async function buildByoInputs (files: ReadonlyArray<{ name: string, webkitRelativePath?: string, arrayBuffer: () => Promise<ArrayBuffer> }>, inputs: readonly ValueInfo[], options: { onProgress?: (done: number) => void } = {}): Promise<BuiltInputs> {
  if (files.length === 0) throw new BadInputError('choose at least one .json or .npy input file', { code: 'no-files' })
  const names = files.map(f => f.webkitRelativePath !== undefined && f.webkitRelativePath !== '' ? f.webkitRelativePath : f.name)
  const shards: Uint8Array[] = []
  for (const [i, file] of files.entries()) {
    shards.push(encodeTensors(shardTensors({ name: names[i]!, bytes: new Uint8Array(await file.arrayBuffer()) }, inputs)))
    options.onProgress?.(i + 1)
  }
  return { inputs: shards, meta: { kind: 'tensors', files: names } }
}

/**
 * Caches and advertises the model, builds the shards, computes the canaries
 * here and posts the job.
 * @returns the job id.
 * @throws {StorageQuotaError} the model does not fit in this browser's cache (volunteers could not fetch it).
 * @throws {UnsupportedModelError} the runtime cannot load the model.
 * @throws {BadInputError}, {InputShapeError} an input file is unusable (named).
 */
export async function submitByoJob (runtime: Runtime, peer: Peer, model: ByoModel, files: readonly File[], policy: JobPolicy, options: {
  title?: string
  signal?: AbortSignal
  onStage?: (s: SubmitStage) => void
} = {}): Promise<string> {
  const report = options.onStage ?? (() => {})
  report({ stage: 'model', step: 'loading', model: model.name })
  const loaded = await runtime.client.load({ sha256: model.sha256, bytes: model.bytes }, { signal: options.signal })
  const built = await buildByoInputs(files, loaded.inputs, { onProgress: done => { report({ stage: 'reading', done, total: files.length }) } })
  options.signal?.throwIfAborted()
  report({ stage: 'model', step: 'keeping', model: model.name })
  await peer.keepModel(model.sha256, model.bytes, { signal: options.signal })
  const canaries = new Map<number, Uint8Array>()
  const picks = canaryShards(built.inputs.length, policy.canaryRate)
  for (const [i, shard] of picks.entries()) {
    report({ stage: 'canaries', done: i, total: picks.length })
    canaries.set(shard, (await runtime.client.runShard(model.sha256, 'none', built.inputs[shard]!, { signal: options.signal })).output)
  }
  // Cancelled up to here, nothing is posted; from here on the post completes.
  options.signal?.throwIfAborted()
  report({ stage: 'posting' })
  return await runtime.requester.post({
    title: options.title ?? `${model.name}: ${files.length} input${files.length === 1 ? '' : 's'}`,
    // The size lets volunteers refuse a model over their cap before fetching it, and check what they get.
    model: { id: model.id, sha256: model.sha256, bytes: model.bytes.length },
    inputs: built.inputs,
    policy,
    canaries,
    meta: built.meta
  })
}
