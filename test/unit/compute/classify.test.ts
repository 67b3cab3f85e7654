import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { classifyOrtError } from '../../../src/compute/classify.ts'
import { CancelledError } from '../../../src/compute/errors.ts'
import { encodeOnnxModel } from '../../../scripts/onnx-writer.ts'

/** The error a promise rejects with (fails the test if it resolves). */
async function failure (p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err)
}

describe('classifyOrtError on real onnxruntime messages', () => {
  it('an unregistered operator is an UnsupportedModelError naming it', async () => {
    const err = classifyOrtError(await failure(ort.InferenceSession.create(new Uint8Array(await readFile('test/fixtures/byo/unsupported-op.onnx')))), 'load')
    expect(err.name).toBe('UnsupportedModelError')
    expect(err.message).toMatch(/^unsupported operator or opset: .*EssaimNoSuchOperator/)
  })
  it('bytes that are not ONNX are an UnsupportedModelError saying so', async () => {
    const err = classifyOrtError(await failure(ort.InferenceSession.create(new Uint8Array(await readFile('test/fixtures/byo/garbage.onnx')))), 'load')
    expect(err.name).toBe('UnsupportedModelError')
    expect(err.message).toMatch(/^not a valid ONNX model: /)
  })
  it('a wrong dimension at run time is an InputShapeError', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(await readFile('test/fixtures/byo/affine.onnx')))
    const err = classifyOrtError(await failure(session.run({ x: new ort.Tensor('float32', new Float32Array(4), [2, 2]) })), 'run')
    expect(err.name).toBe('InputShapeError')
    const typeErr = classifyOrtError(await failure(session.run({ x: new ort.Tensor('int32', new Int32Array(3), [1, 3]) })), 'run')
    expect(typeErr.name).toBe('BadInputError')
    await session.release()
  })
  it('a real allocation failure inside onnxruntime-web\'s WASM heap is an OutOfMemoryError', async () => {
    // ConstantOfShape asked for ~4.29 GB of float32: more than the 4 GiB a wasm32 heap can hold,
    // so malloc fails at once (std::bad_alloc) without the process ever allocating it.
    const model = encodeOnnxModel({
      irVersion: 8, opsetVersion: 13, producerName: 'essaim-test', producerVersion: '1',
      graph: {
        name: 'alloc', nodes: [{ opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['y'] }], initializers: [],
        inputs: [{ name: 'shape', type: 'int64', shape: [1] }], outputs: [{ name: 'y', type: 'float32', shape: ['N'] }]
      },
      metadata: []
    })
    const web = await import('onnxruntime-web/wasm')
    web.env.wasm.numThreads = 1
    const session = await web.InferenceSession.create(model)
    try {
      const err = classifyOrtError(await failure(session.run({ shape: new web.Tensor('int64', BigInt64Array.from([1_073_000_000n]), [1]) })), 'run')
      expect(err.name).toBe('OutOfMemoryError')
      expect(err.message).toMatch(/bad_alloc/)
    } finally {
      await session.release()
    }
  })
  it('allocation failures are OutOfMemoryError whatever the phase; named errors pass through', () => {
    expect(classifyOrtError(new RangeError('Array buffer allocation failed'), 'run').name).toBe('OutOfMemoryError')
    expect(classifyOrtError(new Error('Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM))'), 'load').name).toBe('OutOfMemoryError')
    const cancelled = new CancelledError('x')
    expect(classifyOrtError(cancelled, 'run')).toBe(cancelled)
    expect(classifyOrtError('weird', 'run').name).toBe('WorkerFailedError')
  })
})
