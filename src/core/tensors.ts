/**
 * The wire format of shard inputs and outputs: a map from tensor name to
 * { dtype, dims, raw little-endian bytes }, encoded as deterministic CBOR
 * (cbor.ts, RFC 8949 §4.2.1). Because the encoding is canonical, sha256 of
 * the bytes is a stable id: a shard's `inputHash` and an attestation's
 * `outputHash` are hashes of these bytes.
 *
 * Tensors come from other peers, so decoding is strict and never throws:
 * a byte cap before parsing, caps on the number of tensors, name length and
 * rank, and `product(dims) × itemsize === data.length` exactly (no size is
 * ever trusted to allocate from). Bool tensors must hold only 0 or 1, so two
 * different byte strings cannot mean the same tensor.
 */
import { decodeCanonical, encodeCanonical } from './cbor.ts'

/** Element types carried on the wire (the ONNX types our models use). */
export type DType = 'float32' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool' | 'float64'

/** One tensor: row-major, `data` holds the elements as raw little-endian bytes. */
export interface TensorData {
  dtype: DType
  dims: number[]
  data: Uint8Array
}

/** Named tensors, e.g. a model's inputs or outputs. */
export type TensorMap = Record<string, TensorData>

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  float32: 4, int32: 4, int64: 8, uint8: 1, int8: 1, bool: 1, float64: 8
}

/** Structural limits of a tensor map, checked on encode and decode. */
export const TENSOR_LIMITS = {
  /** Tensors in one map (models here have 1–4 inputs/outputs). */
  tensors: 64,
  /** Characters in a tensor name (ONNX names like `onnx::Gemm_0` are short). */
  nameLength: 256,
  /** Rank of one tensor. */
  rank: 8,
  /** Default cap on the encoded map when the caller gives none: a shard input's MAX_SHARD_BYTES. */
  maxBytes: 64 * 1024 * 1024
} as const

/** Tensor names: printable ASCII, no prototype-polluting keys. */
const NAME = /^[\x20-\x7e]+$/
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

/** Result of {@link decodeTensors}. */
export type DecodeTensorsResult =
  | { ok: true, tensors: TensorMap }
  | { ok: false, reason: string }

/** Options of {@link decodeTensors}. */
export interface DecodeTensorsOptions {
  /** Largest encoded size accepted, in bytes (default {@link TENSOR_LIMITS}.maxBytes). */
  maxBytes?: number
}

function isDType (x: unknown): x is DType {
  return typeof x === 'string' && Object.hasOwn(ITEM_SIZE, x)
}

/**
 * Why `t` (named `name`) is not a valid tensor, or undefined if it is.
 * Shared by encode (programmer error → throw) and decode (hostile → reason).
 */
function tensorProblem (name: string, t: unknown): string | undefined {
  if (!NAME.test(name) || name.length > TENSOR_LIMITS.nameLength || FORBIDDEN_NAMES.has(name)) {
    return `tensor name ${JSON.stringify(name.slice(0, 40))} is not allowed`
  }
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return `${name}: not a tensor object`
  const keys = Object.keys(t).sort()
  if (keys.length !== 3 || keys[0] !== 'data' || keys[1] !== 'dims' || keys[2] !== 'dtype') {
    return `${name}: fields must be exactly dtype, dims, data`
  }
  const { dtype, dims, data } = t as Record<string, unknown>
  if (!isDType(dtype)) return `${name}.dtype: unknown ${JSON.stringify(String(dtype).slice(0, 20))}`
  if (!Array.isArray(dims)) return `${name}.dims: not an array`
  if (dims.length > TENSOR_LIMITS.rank) return `${name}.dims: rank ${dims.length} exceeds ${TENSOR_LIMITS.rank}`
  if (!(data instanceof Uint8Array)) return `${name}.data: not bytes`
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return `${name}.dims: ${String(d)} is not a non-negative integer`
  }
  // The element count may not exceed what the data holds; stop multiplying as soon as it does (no overflow).
  const limit = data.length / ITEM_SIZE[dtype]
  let count = dims.includes(0) ? 0 : 1
  for (const d of dims) {
    count *= d
    if (count > limit) return `${name}: dims ${JSON.stringify(dims)} need more than the ${data.length} data bytes`
  }
  if (count * ITEM_SIZE[dtype] !== data.length) {
    return `${name}: dims ${JSON.stringify(dims)} × ${ITEM_SIZE[dtype]} bytes ≠ ${data.length} data bytes`
  }
  if (dtype === 'bool' && data.some(b => b > 1)) return `${name}: bool data holds a byte other than 0 or 1`
  return undefined
}

function mapProblem (map: unknown): string | undefined {
  if (typeof map !== 'object' || map === null || Array.isArray(map) || map instanceof Uint8Array) return 'not a map of tensors'
  const names = Object.keys(map)
  if (names.length === 0) return 'no tensors'
  if (names.length > TENSOR_LIMITS.tensors) return `${names.length} tensors exceeds ${TENSOR_LIMITS.tensors}`
  for (const name of names) {
    const problem = tensorProblem(name, (map as Record<string, unknown>)[name])
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * Canonical bytes of a tensor map. Equal maps give equal bytes, so
 * `sha256(encodeTensors(m))` identifies the map.
 * @throws {TypeError} if the map breaks a rule {@link decodeTensors} enforces
 *   (bad name, dtype, dims, data length, bool byte, or too many tensors).
 */
export function encodeTensors (map: TensorMap): Uint8Array {
  const problem = mapProblem(map)
  if (problem !== undefined) throw new TypeError(`encodeTensors: ${problem}`)
  // Copy into plain objects so extra own properties or subclassed arrays never leak into the bytes.
  const plain: Record<string, TensorData> = {}
  for (const [name, t] of Object.entries(map)) plain[name] = { dtype: t.dtype, dims: [...t.dims], data: t.data }
  return encodeCanonical(plain)
}

/**
 * Decodes bytes from {@link encodeTensors}, refusing anything else: non-canonical
 * CBOR, more than `maxBytes`, wrong structure, inconsistent sizes. Never throws.
 */
export function decodeTensors (bytes: Uint8Array, options: DecodeTensorsOptions = {}): DecodeTensorsResult {
  const maxBytes = options.maxBytes ?? TENSOR_LIMITS.maxBytes
  const decoded = decodeCanonical(bytes, maxBytes)
  if (!decoded.ok) return { ok: false, reason: decoded.error.message }
  const problem = mapProblem(decoded.value)
  if (problem !== undefined) return { ok: false, reason: problem }
  return { ok: true, tensors: decoded.value as TensorMap }
}

/** Number of elements of `t` (product of its dims; 1 for a scalar). */
export function elementCount (t: TensorData): number {
  return t.dims.reduce((n, d) => n * d, 1)
}

/**
 * The elements of `t` as numbers, for comparison and display. int64 values
 * become Numbers, exact up to 2^53 (class indices and token ids are far below).
 * Reads through a DataView, so `data` need not be aligned.
 */
export function tensorValues (t: TensorData): Float64Array {
  const n = elementCount(t)
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  const out = new Float64Array(n)
  switch (t.dtype) {
    case 'float32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true); break
    case 'float64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true); break
    case 'int32': for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true); break
    case 'int64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true)); break
    case 'int8': for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break
    case 'uint8': case 'bool': for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break
  }
  return out
}

/**
 * Builds a tensor from numbers (or bigints for int64), writing little-endian
 * bytes whatever the platform's byte order.
 * @throws {TypeError} if `values.length` does not match `dims`, or a value does
 *   not fit the dtype (non-integer or out of range for an integer type; bool not 0/1).
 */
export function makeTensor (dtype: DType, dims: number[], values: ArrayLike<number | bigint>): TensorData {
  const size = ITEM_SIZE[dtype]
  const n = dims.reduce((a, d) => a * d, 1)
  if (values.length !== n) throw new TypeError(`makeTensor: ${values.length} values for dims ${JSON.stringify(dims)}`)
  const data = new Uint8Array(n * size)
  const view = new DataView(data.buffer)
  for (let i = 0; i < n; i++) {
    const v = values[i]!
    if (dtype === 'int64') {
      view.setBigInt64(i * 8, typeof v === 'bigint' ? v : BigInt(integer(v, -(2 ** 63), 2 ** 63)), true)
      continue
    }
    const x = Number(v)
    switch (dtype) {
      case 'float32': view.setFloat32(i * 4, x, true); break
      case 'float64': view.setFloat64(i * 8, x, true); break
      case 'int32': view.setInt32(i * 4, integer(x, -(2 ** 31), 2 ** 31), true); break
      case 'int8': view.setInt8(i, integer(x, -128, 128)); break
      case 'uint8': view.setUint8(i, integer(x, 0, 256)); break
      case 'bool': view.setUint8(i, integer(x, 0, 2)); break
    }
  }
  return { dtype, dims: [...dims], data }
}

function integer (x: number | bigint, min: number, maxExclusive: number): number {
  const n = Number(x)
  if (!Number.isInteger(n) || n < min || n >= maxExclusive) throw new TypeError(`makeTensor: ${String(x)} does not fit`)
  return n
}
