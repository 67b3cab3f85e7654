/**
 * scripts/onnx-writer.ts: a graph it encodes must load in onnxruntime-node
 * and compute what the ONNX operator specs say. The graph exercises every
 * field kind the writer has: float / int / negative int attributes, a
 * symbolic batch dimension, float32 and int64 (negative) initializers,
 * several outputs, metadata. Expected numbers are computed here in plain
 * TypeScript from the operator definitions (Gemm, Reshape, Softmax, opset 13).
 */
import { describe, it, expect } from 'vitest'
import * as ort from 'onnxruntime-node'
import { encodeOnnxModel, type OnnxModel } from '../../../scripts/onnx-writer.ts'

const W = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0, 2, 0.25, -0.5, 1.5, -2]) // [3, 4]
const B = Float32Array.from([0.1, -0.2, 0.3])
const ALPHA = 0.5

function model (): OnnxModel {
  return {
    irVersion: 8,
    opsetVersion: 13,
    producerName: 'essaim-test',
    producerVersion: '0',
    docString: 'writer test graph',
    graph: {
      name: 'tiny',
      nodes: [
        {
          opType: 'Gemm',
          name: 'fc',
          inputs: ['x', 'w', 'b'],
          outputs: ['y'],
          attributes: [
            { name: 'transB', type: 'int', value: 1 },
            { name: 'alpha', type: 'float', value: ALPHA }
          ]
        },
        // shape [-1] as an int64 initializer: checks two's-complement raw bytes
        { opType: 'Reshape', inputs: ['y', 'shape'], outputs: ['flat'] },
        // axis -1: checks the 10-byte negative varint of an int attribute
        { opType: 'Softmax', inputs: ['y'], outputs: ['p'], attributes: [{ name: 'axis', type: 'int', value: -1 }] }
      ],
      initializers: [
        { name: 'w', type: 'float32', dims: [3, 4], data: W },
        { name: 'b', type: 'float32', dims: [3], data: B },
        { name: 'shape', type: 'int64', dims: [1], data: BigInt64Array.from([-1n]) }
      ],
      inputs: [{ name: 'x', type: 'float32', shape: ['N', 4], docString: 'batch of 4-vectors' }],
      outputs: [
        { name: 'y', type: 'float32', shape: ['N', 3] },
        { name: 'flat', type: 'float32', shape: ['M'] },
        { name: 'p', type: 'float32', shape: ['N', 3] }
      ]
    },
    metadata: [['k', 'v'], ['essaim.model', 'tiny']]
  }
}

/** Gemm with transB = 1: y[n][j] = alpha · Σ_i x[n][i]·W[j][i] + b[j]. */
function expectedGemm (x: Float32Array, n: number): number[] {
  const out: number[] = []
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < 3; j++) {
      let s = 0
      for (let i = 0; i < 4; i++) s += x[r * 4 + i]! * W[j * 4 + i]!
      out.push(ALPHA * s + B[j]!)
    }
  }
  return out
}

function softmaxRows (v: number[], width: number): number[] {
  const out: number[] = []
  for (let r = 0; r < v.length; r += width) {
    const row = v.slice(r, r + width)
    const max = Math.max(...row)
    const e = row.map(z => Math.exp(z - max))
    const sum = e.reduce((a, b) => a + b, 0)
    out.push(...e.map(z => z / sum))
  }
  return out
}

function expectClose (actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol)
}

describe('encodeOnnxModel', () => {
  it('writes a model onnxruntime-node loads, with the declared names', async () => {
    const session = await ort.InferenceSession.create(encodeOnnxModel(model()))
    try {
      expect(session.inputNames).toEqual(['x'])
      expect(session.outputNames).toEqual(['y', 'flat', 'p'])
    } finally {
      await session.release()
    }
  })

  it('computes Gemm / Reshape / Softmax as the operator specs define them, for any batch size', async () => {
    const session = await ort.InferenceSession.create(encodeOnnxModel(model()))
    try {
      for (const n of [1, 2, 5]) {
        const x = Float32Array.from({ length: n * 4 }, (_, i) => ((i * 7) % 11) / 4 - 1.25)
        const out = await session.run({ x: new ort.Tensor('float32', x, [n, 4]) })
        const y = expectedGemm(x, n)
        expect(out.y!.dims).toEqual([n, 3])
        expectClose(out.y!.data as Float32Array, y)
        expect(out.flat!.dims).toEqual([n * 3])
        expectClose(out.flat!.data as Float32Array, y)
        expectClose(out.p!.data as Float32Array, softmaxRows(y, 3))
      }
    } finally {
      await session.release()
    }
  })

  it('is deterministic: the same model encodes to the same bytes', () => {
    expect(Buffer.from(encodeOnnxModel(model())).equals(Buffer.from(encodeOnnxModel(model())))).toBe(true)
  })

  it('changing one weight changes the output (the initializer bytes are what runs)', async () => {
    const m = model()
    const w2 = W.slice()
    w2[0] = 101
    m.graph = { ...m.graph, initializers: [{ name: 'w', type: 'float32', dims: [3, 4], data: w2 }, ...m.graph.initializers.slice(1)] }
    const session = await ort.InferenceSession.create(encodeOnnxModel(m))
    try {
      const x = Float32Array.from([1, 0, 0, 0])
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, 4]) })
      expectClose(out.y!.data as Float32Array, [ALPHA * 101 + B[0]!, ALPHA * -1 + B[1]!, ALPHA * 0.25 + B[2]!])
    } finally {
      await session.release()
    }
  })

  it('encodes fields in the protobuf wire format (ModelProto.ir_version = field 1 varint)', () => {
    const bytes = encodeOnnxModel(model())
    // tag (1 << 3 | 0) = 0x08, then varint 8; then producer_name (2 << 3 | 2) = 0x12, length 11
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x08, 8, 0x12, 'essaim-test'.length])
    expect(new TextDecoder().decode(bytes.subarray(4, 4 + 11))).toBe('essaim-test')
  })

  it('throws RangeError when a tensor\'s dims do not match its data', () => {
    const m = model()
    m.graph = { ...m.graph, initializers: [{ name: 'w', type: 'float32', dims: [4, 4], data: W }] }
    expect(() => encodeOnnxModel(m)).toThrow(RangeError)
  })

  it('throws RangeError on a non-integer int attribute', () => {
    const m = model()
    m.graph = { ...m.graph, nodes: [{ opType: 'Softmax', inputs: ['x'], outputs: ['p'], attributes: [{ name: 'axis', type: 'int', value: 1.5 }] }] }
    expect(() => encodeOnnxModel(m)).toThrow(RangeError)
  })
})
