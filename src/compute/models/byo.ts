/**
 * Bring your own model: inputs for an arbitrary .onnx come as NumPy .npy
 * files or JSON arrays; the model's input/output names, types and shapes
 * come from ORT session metadata (the worker's `ready` reply), and inputs are
 * checked against them before anything runs.
 *
 * .npy (NumPy format spec, numpy/lib/format.py, versions 1.0–3.0): magic
 * `\x93NUMPY`, version, header length (u16 for v1, u32 for v2/v3), a Python
 * dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
 * then the C-ordered data. Accepted dtypes: f4 f8 i4 i8 u1 b1 (plus i1),
 * little-endian or byte-order-free; Fortran order, big-endian, object and
 * other dtypes are refused with a message that says so.
 */
import { ITEM_SIZE, makeTensor, type DType, type TensorData, type TensorMap } from '../../core/tensors.ts'
import { BadInputError } from '../errors.ts'
import type { ValueInfo } from '../protocol.ts'

const NPY_DTYPES: Readonly<Record<string, DType>> = {
  f4: 'float32', f8: 'float64', i4: 'int32', i8: 'int64', u1: 'uint8', i1: 'int8', b1: 'bool'
}

/** Largest .npy / JSON input accepted (the shard cap). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024

/**
 * Parses a .npy file into a tensor.
 * @throws {BadInputError} with the reason (not .npy, unsupported dtype, Fortran order, size mismatch).
 */
export function parseNpy (bytes: Uint8Array): TensorData {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new BadInputError('not a .npy file (missing \\x93NUMPY magic)', { code: 'not-npy' })
  const major = bytes[6]!
  if (major < 1 || major > 3) throw new BadInputError(`unsupported .npy version ${major}.${bytes[7]!}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLen = major === 1 ? view.getUint16(8, true) : (bytes.length >= 12 ? view.getUint32(8, true) : -1)
  const start = major === 1 ? 10 : 12
  if (headerLen < 0 || start + headerLen > bytes.length) throw new BadInputError('.npy header is truncated')
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen))
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new BadInputError('.npy header lacks descr, fortran_order or shape')
  if (fortran === 'True') throw new BadInputError('.npy array is in Fortran order; save it C-ordered (np.ascontiguousarray)')
  const order = descr[0]
  const code = descr.slice(1)
  if (order === '>' && code !== 'u1' && code !== 'i1' && code !== 'b1') throw new BadInputError(`.npy dtype ${descr} is big-endian; save it little-endian (arr.astype('<${code}'))`)
  const dtype = NPY_DTYPES[code]
  if (dtype === undefined || !['<', '|', '='].includes(order ?? '') && order !== '>') {
    throw new BadInputError(`.npy dtype ${descr} is not supported (use float32, float64, int32, int64, uint8, int8 or bool)`, { code: 'npy-dtype', params: { dtype: descr } })
  }
  const dims = shapeText.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const n = Number(s.replace(/L$/, ''))
    if (!Number.isSafeInteger(n) || n < 0) throw new BadInputError(`.npy shape has a bad dimension ${JSON.stringify(s)}`)
    return n
  })
  if (dims.length > 8) throw new BadInputError(`.npy array has rank ${dims.length}; at most 8 is supported`)
  const count = dims.reduce((a, b) => a * b, 1)
  const data = bytes.subarray(start + headerLen)
  const need = count * ITEM_SIZE[dtype]
  if (need > MAX_INPUT_BYTES) throw new BadInputError(`.npy array needs ${need} bytes; the limit is ${MAX_INPUT_BYTES}`)
  if (data.length !== need) throw new BadInputError(`.npy data is ${data.length} bytes but shape (${dims.join(', ')}) of ${descr} needs ${need}`)
  if (dtype === 'bool' && data.some(b => b > 1)) throw new BadInputError('.npy bool array holds a byte other than 0 or 1')
  return { dtype, dims, data: data.slice() }
}

/** Element type names ORT uses → our dtypes (ORT's 'bool', 'float32' … are the same words). */
function dtypeOf (info: ValueInfo): DType {
  const ok: DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool']
  const t = ok.find(d => d === info.type)
  if (t === undefined) throw new BadInputError(`input ${info.name} has type ${info.type}, which JSON/npy inputs cannot provide`)
  return t
}

/** Dims and flat values of a nested JSON array; ragged or non-numeric arrays are refused. */
function flatten (value: unknown, name: string): { dims: number[], values: Array<number | boolean> } {
  const dims: number[] = []
  let probe = value
  while (Array.isArray(probe)) { dims.push(probe.length); probe = probe[0] }
  const values: Array<number | boolean> = []
  const walk = (v: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new BadInputError(`input ${name}: ${JSON.stringify(v)?.slice(0, 20) ?? 'undefined'} is not a number`)
      values.push(v)
      return
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) throw new BadInputError(`input ${name}: ragged array (dimension ${depth} is not always ${dims[depth]!})`)
    for (const x of v) walk(x, depth + 1)
  }
  walk(value, 0)
  return { dims, values }
}

/**
 * Tensors from JSON: either `{ "<input name>": nested array, … }`, or a bare
 * nested array when the model has exactly one input. Dtypes come from the model.
 * @throws {BadInputError} for invalid JSON, unknown names, ragged arrays, values that do not fit the dtype.
 */
export function parseJsonTensors (text: string, inputs: readonly ValueInfo[]): TensorMap {
  if (text.length > MAX_INPUT_BYTES) throw new BadInputError('JSON input is larger than the 64 MiB limit', { code: 'input-too-large', params: { limit: MAX_INPUT_BYTES } })
  let json: unknown
  try { json = JSON.parse(text) } catch (err) { throw new BadInputError(`not valid JSON: ${(err as Error).message}`, { code: 'not-json' }) }
  let named: Record<string, unknown>
  if (Array.isArray(json)) {
    if (inputs.length !== 1) throw new BadInputError(`the model takes ${inputs.length} inputs (${inputs.map(i => i.name).join(', ')}): give an object keyed by input name`)
    named = { [inputs[0]!.name]: json }
  } else if (typeof json === 'object' && json !== null) {
    named = json as Record<string, unknown>
  } else {
    throw new BadInputError('JSON input must be an array or an object of arrays')
  }
  const map: TensorMap = {}
  for (const [name, value] of Object.entries(named)) {
    const info = inputs.find(i => i.name === name)
    if (info === undefined) throw new BadInputError(`unknown input ${name} (the model takes ${inputs.map(i => i.name).join(', ')})`)
    const { dims, values } = flatten(value, name)
    const dtype = dtypeOf(info)
    try {
      map[name] = makeTensor(dtype, dims, values.map(v => typeof v === 'boolean' ? Number(v) : (dtype === 'int64' && Number.isInteger(v) ? BigInt(v) : v)))
    } catch (err) {
      throw new BadInputError(`input ${name}: ${(err as Error).message.replace(/^makeTensor: /, '')} as ${dtype}`)
    }
  }
  return map
}

/**
 * Tensors from .npy files; with one file and one input the file name does not
 * matter, otherwise each file is named after its input (`<input>.npy`).
 */
export function npyTensors (files: ReadonlyArray<{ name: string, bytes: Uint8Array }>, inputs: readonly ValueInfo[]): TensorMap {
  const map: TensorMap = {}
  for (const f of files) {
    const t = parseNpy(f.bytes)
    const base = f.name.replace(/\.npy$/i, '')
    const info = files.length === 1 && inputs.length === 1 ? inputs[0]! : inputs.find(i => i.name === base)
    if (info === undefined) throw new BadInputError(`${f.name}: no model input named ${base} (the model takes ${inputs.map(i => i.name).join(', ')})`)
    map[info.name] = t
  }
  return map
}
