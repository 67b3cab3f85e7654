/**
 * A minimal ONNX serialiser: just enough of ModelProto to write the small
 * inference graphs we train here (scripts/train-digits.ts), with no runtime
 * dependency. We write the protobuf wire format by hand because the subset we
 * need (varints, length-delimited fields, packed/raw tensor bytes) is a few
 * dozen lines, whereas a schema-driven library would mean vendoring onnx.proto
 * or a generated module far larger than this file.
 *
 * Field numbers follow onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto,
 * OperatorSetIdProto). Output is deterministic: the same model object always
 * encodes to the same bytes, which is what lets the training script promise a
 * stable sha256 for a given seed. Fields are emitted in the order given, never
 * from object-key iteration of user data.
 */

/** Element types we can write; values are TensorProto.DataType numbers. */
export const OnnxDataType = {
  float32: 1,
  int64: 7
} as const

/** Name of an element type we can write. */
export type OnnxElemType = keyof typeof OnnxDataType

/** A constant tensor stored in GraphProto.initializer (as raw little-endian bytes). */
export type OnnxTensor =
  | { name: string, dims: readonly number[], type: 'float32', data: Float32Array }
  | { name: string, dims: readonly number[], type: 'int64', data: BigInt64Array }

/** One node attribute; `type` picks the AttributeProto field that holds the value. */
export type OnnxAttribute =
  | { name: string, type: 'int', value: number }
  | { name: string, type: 'ints', value: readonly number[] }
  | { name: string, type: 'float', value: number }
  | { name: string, type: 'string', value: string }

/** One graph node (NodeProto) in the default `ai.onnx` domain. */
export interface OnnxNode {
  opType: string
  inputs: readonly string[]
  outputs: readonly string[]
  name?: string
  attributes?: readonly OnnxAttribute[]
}

/**
 * A graph input or output (ValueInfoProto with a tensor type). A string
 * dimension is symbolic (dim_param), e.g. `'N'` for a dynamic batch.
 */
export interface OnnxValueInfo {
  name: string
  type: OnnxElemType
  shape: ReadonlyArray<number | string>
  docString?: string
}

/** Everything needed to write a single-graph model. */
export interface OnnxModel {
  irVersion: number
  /** Version of the default (`ai.onnx`) operator set. */
  opsetVersion: number
  producerName: string
  producerVersion: string
  docString?: string
  graph: {
    name: string
    nodes: readonly OnnxNode[]
    initializers: readonly OnnxTensor[]
    inputs: readonly OnnxValueInfo[]
    outputs: readonly OnnxValueInfo[]
    docString?: string
  }
  /** ModelProto.metadata_props, written in the order given. */
  metadata?: ReadonlyArray<readonly [string, string]>
}

const WIRE_VARINT = 0
const WIRE_I32 = 5
const WIRE_LEN = 2

const ATTR_FLOAT = 1
const ATTR_INT = 2
const ATTR_STRING = 3
const ATTR_INTS = 7

const utf8 = new TextEncoder()

/** Append-only protobuf wire-format writer. */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = []
  private length = 0

  private push (bytes: Uint8Array): void {
    this.chunks.push(bytes)
    this.length += bytes.length
  }

  /** Unsigned or two's-complement int64 varint (negatives take 10 bytes). */
  private varint (value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value))
    const out: number[] = []
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
    this.push(Uint8Array.from(out))
  }

  private tag (field: number, wire: number): void {
    this.varint((field << 3) | wire)
  }

  int (field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`field ${field}: ${value} is not a safe integer`)
    this.tag(field, WIRE_VARINT)
    this.varint(value)
    return this
  }

  float (field: number, value: number): this {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, value, true)
    this.tag(field, WIRE_I32)
    this.push(b)
    return this
  }

  bytes (field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN)
    this.varint(value.length)
    this.push(value)
    return this
  }

  string (field: number, value: string): this {
    return this.bytes(field, utf8.encode(value))
  }

  message (field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter()
    build(inner)
    return this.bytes(field, inner.finish())
  }

  packedInts (field: number, values: readonly number[]): this {
    const inner = new ProtoWriter()
    for (const v of values) {
      if (!Number.isSafeInteger(v)) throw new RangeError(`field ${field}: ${v} is not a safe integer`)
      inner.varint(v)
    }
    return this.bytes(field, inner.finish())
  }

  finish (): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const c of this.chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
}

/** Little-endian bytes of a typed array, independent of host endianness. */
function rawBytes (t: OnnxTensor): Uint8Array {
  const width = t.type === 'float32' ? 4 : 8
  const out = new Uint8Array(t.data.length * width)
  const view = new DataView(out.buffer)
  for (let i = 0; i < t.data.length; i++) {
    if (t.type === 'float32') view.setFloat32(i * 4, t.data[i]!, true)
    else view.setBigInt64(i * 8, t.data[i]!, true)
  }
  return out
}

function writeTensor (w: ProtoWriter, t: OnnxTensor): void {
  const count = t.dims.reduce((a, b) => a * b, 1)
  if (count !== t.data.length) {
    throw new RangeError(`tensor ${t.name}: dims ${t.dims.join('x')} hold ${count} values, data has ${t.data.length}`)
  }
  // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9
  w.packedInts(1, t.dims)
  w.int(2, OnnxDataType[t.type])
  w.string(8, t.name)
  w.bytes(9, rawBytes(t))
}

function writeAttribute (w: ProtoWriter, a: OnnxAttribute): void {
  // AttributeProto: name = 1, f = 2, i = 3, s = 4, ints = 8, type = 20
  w.string(1, a.name)
  switch (a.type) {
    case 'float': w.float(2, a.value).int(20, ATTR_FLOAT); break
    case 'int': w.int(3, a.value).int(20, ATTR_INT); break
    case 'string': w.string(4, a.value).int(20, ATTR_STRING); break
    case 'ints': w.packedInts(8, a.value).int(20, ATTR_INTS); break
  }
}

function writeNode (w: ProtoWriter, n: OnnxNode): void {
  // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  if (n.name !== undefined) w.string(3, n.name)
  w.string(4, n.opType)
  for (const a of n.attributes ?? []) w.message(5, inner => { writeAttribute(inner, a) })
}

function writeValueInfo (w: ProtoWriter, v: OnnxValueInfo): void {
  // ValueInfoProto: name = 1, type = 2, doc_string = 3
  w.string(1, v.name)
  w.message(2, type => {
    // TypeProto: tensor_type = 1 -> Tensor: elem_type = 1, shape = 2
    type.message(1, tensor => {
      tensor.int(1, OnnxDataType[v.type])
      tensor.message(2, shape => {
        // TensorShapeProto: dim = 1 -> Dimension: dim_value = 1 | dim_param = 2
        for (const d of v.shape) {
          shape.message(1, dim => {
            if (typeof d === 'number') dim.int(1, d)
            else dim.string(2, d)
          })
        }
      })
    })
  })
  if (v.docString !== undefined) w.string(3, v.docString)
}

/**
 * Serialise a model to ONNX protobuf bytes.
 *
 * @throws {RangeError} if a tensor's dims do not match its data length, or an
 * integer field is not a safe integer.
 */
export function encodeOnnxModel (model: OnnxModel): Uint8Array {
  const w = new ProtoWriter()
  // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3,
  // doc_string = 6, graph = 7, opset_import = 8, metadata_props = 14
  w.int(1, model.irVersion)
  w.string(2, model.producerName)
  w.string(3, model.producerVersion)
  if (model.docString !== undefined) w.string(6, model.docString)
  w.message(7, g => {
    // GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10,
    // input = 11, output = 12
    for (const n of model.graph.nodes) g.message(1, inner => { writeNode(inner, n) })
    g.string(2, model.graph.name)
    for (const t of model.graph.initializers) g.message(5, inner => { writeTensor(inner, t) })
    if (model.graph.docString !== undefined) g.string(10, model.graph.docString)
    for (const i of model.graph.inputs) g.message(11, inner => { writeValueInfo(inner, i) })
    for (const o of model.graph.outputs) g.message(12, inner => { writeValueInfo(inner, o) })
  })
  // OperatorSetIdProto: domain = 1 (empty = ai.onnx, so omitted), version = 2
  w.message(8, op => { op.int(2, model.opsetVersion) })
  for (const [key, value] of model.metadata ?? []) {
    // StringStringEntryProto: key = 1, value = 2
    w.message(14, e => { e.string(1, key).string(2, value) })
  }
  return w.finish()
}
