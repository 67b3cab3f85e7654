import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { classifyOrtError } from '../../../src/compute/classify.ts'
import { CancelledError } from '../../../src/compute/errors.ts'

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
  it('allocation failures are OutOfMemoryError whatever the phase; named errors pass through', () => {
    expect(classifyOrtError(new RangeError('Array buffer allocation failed'), 'run').name).toBe('OutOfMemoryError')
    expect(classifyOrtError(new Error('Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM))'), 'load').name).toBe('OutOfMemoryError')
    const cancelled = new CancelledError('x')
    expect(classifyOrtError(cancelled, 'run')).toBe(cancelled)
    expect(classifyOrtError('weird', 'run').name).toBe('WorkerFailedError')
  })
})
