/**
 * Conversions between our wire tensors (src/core/tensors.ts: dtype, dims,
 * little-endian bytes) and onnxruntime tensors, written against the types
 * onnxruntime-web and onnxruntime-node share (onnxruntime-common), so the
 * worker and the Node reference tests convert identically. Also the shape
 * checks that turn a bad input into a named error before ORT sees it.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web'
import { ITEM_SIZE, type DType, type TensorData, type TensorMap } from '../core/tensors.ts'
import { BadInputError, InputShapeError, UnsupportedModelError } from './errors.ts'
import type { ValueInfo } from './protocol.ts'

/** The Tensor constructor of whichever ORT package is in use. */
export type TensorCtor = new (type: Tensor.Type, data: Tensor.DataType, dims: readonly number[]) => Tensor

const ORT_TYPES: Readonly<Record<DType, Tensor.Type>> = {
  float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64', uint8: 'uint8', int8: 'int8', bool: 'bool'
}

/** An aligned typed array over a copy of `t.data`, of the array type ORT wants for `t.dtype`. */
function typedArray (t: TensorData): Tensor.DataType {
  const buf = t.data.slice().buffer
  switch (t.dtype) {
    case 'float32': return new Float32Array(buf)
    case 'float64': return new Float64Array(buf)
    case 'int32': return new Int32Array(buf)
    case 'int64': return new BigInt64Array(buf)
    case 'int8': return new Int8Array(buf)
    case 'uint8': case 'bool': return new Uint8Array(buf)
  }
}

/** ORT feeds from a tensor map. */
export function toOrtFeeds (Ctor: TensorCtor, map: TensorMap): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {}
  for (const [name, t] of Object.entries(map)) feeds[name] = new Ctor(ORT_TYPES[t.dtype], typedArray(t), t.dims)
  return feeds
}

/**
 * A tensor map from ORT outputs (bytes copied out of ORT's buffers).
 * @throws {UnsupportedModelError} for an output type the wire format does not carry (float16, string, …).
 */
export function fromOrtOutputs (outputs: Record<string, Tensor>): TensorMap {
  const map: TensorMap = {}
  for (const [name, t] of Object.entries(outputs)) {
    const dtype = (Object.keys(ORT_TYPES) as DType[]).find(d => ORT_TYPES[d] === t.type)
    if (dtype === undefined) throw new UnsupportedModelError(`output ${name} has type ${t.type}, which Essaim cannot carry (supported: ${Object.keys(ORT_TYPES).join(', ')})`)
    const data = t.data as ArrayBufferView
    map[name] = { dtype, dims: [...t.dims], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() }
  }
  return map
}

/**
 * Input/output descriptions of a session, from its metadata. onnxruntime-web
 * reports a dynamic dim without a name as 4294967295 (-1 read as uint32) where
 * onnxruntime-node gives `''`; both become `''` (any size) here.
 */
export function sessionValueInfo (metadata: readonly InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map(m => m.isTensor
    ? { name: m.name, type: m.type, shape: m.shape.map(d => typeof d === 'number' && (d < 0 || d >= 2 ** 31) ? '' : d) }
    : { name: m.name, type: 'unknown', shape: [] })
}

/**
 * Checks a tensor map against a session's declared inputs: same names, same
 * element types, same rank, and equal static dims (symbolic dims take any size).
 * @throws {BadInputError} for missing/extra names or a wrong element type.
 * @throws {InputShapeError} for a wrong rank or a static dim that differs.
 */
export function checkInputs (inputs: readonly ValueInfo[], map: TensorMap): void {
  const names = Object.keys(map)
  const missing = inputs.filter(i => !names.includes(i.name)).map(i => i.name)
  if (missing.length > 0) throw new BadInputError(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the model takes ${inputs.map(i => i.name).join(', ')})`)
  const extra = names.filter(n => !inputs.some(i => i.name === n))
  if (extra.length > 0) throw new BadInputError(`unknown input${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (the model takes ${inputs.map(i => i.name).join(', ')})`)
  for (const info of inputs) {
    const t = map[info.name]!
    if (info.type !== 'unknown' && info.type !== ORT_TYPES[t.dtype]) throw new BadInputError(`input ${info.name} is ${t.dtype} but the model expects ${info.type}`)
    if (info.shape.length === 0 && info.type !== 'unknown' && t.dims.length !== 0) {
      // ORT reports [] both for scalars and for unknown shapes; only a scalar declared in the catalog is checked there.
      continue
    }
    if (info.shape.length > 0 && info.shape.length !== t.dims.length) {
      throw new InputShapeError(`input ${info.name} has dims ${JSON.stringify(t.dims)} (rank ${t.dims.length}) but the model expects ${shapeText(info.shape)} (rank ${info.shape.length})`)
    }
    info.shape.forEach((d, k) => {
      if (typeof d === 'number' && d >= 0 && t.dims[k] !== d) {
        throw new InputShapeError(`input ${info.name} has dims ${JSON.stringify(t.dims)} but the model expects ${shapeText(info.shape)} (dim ${k} must be ${d})`)
      }
    })
  }
}

/** `[N, 1, 28, 28]` style text of a shape with symbolic dims. */
export function shapeText (shape: ReadonlyArray<number | string>): string {
  return `[${shape.map(d => typeof d === 'string' ? (d === '' ? '?' : d) : String(d)).join(', ')}]`
}

/** A zero tensor fitting `info`, symbolic dims set to 1 for dim 0 and 32 elsewhere (used for warm-up). */
export function zeroTensor (info: ValueInfo): TensorData | undefined {
  const dtype = (Object.keys(ORT_TYPES) as DType[]).find(d => ORT_TYPES[d] === info.type)
  if (dtype === undefined) return undefined
  const dims = info.shape.map((d, k) => typeof d === 'number' && d >= 0 ? d : (k === 0 ? 1 : 32))
  const n = dims.reduce((a, b) => a * b, 1)
  return { dtype, dims, data: new Uint8Array(n * ITEM_SIZE[dtype]) }
}
