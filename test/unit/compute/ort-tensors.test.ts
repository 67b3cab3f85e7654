import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { makeTensor } from '../../../src/core/tensors.ts'
import { checkInputs, fromOrtOutputs, sessionValueInfo, toOrtFeeds, zeroTensor, type TensorCtor } from '../../../src/compute/ort-tensors.ts'

describe('ORT tensor conversion', () => {
  it('round-trips every wire dtype through ORT tensors', () => {
    const map = {
      f: makeTensor('float32', [2], [1.5, -2]),
      d: makeTensor('float64', [1], [Math.PI]),
      i: makeTensor('int32', [2], [-7, 7]),
      l: makeTensor('int64', [], [16000n]),
      u: makeTensor('uint8', [3], [0, 128, 255]),
      s: makeTensor('int8', [1], [-128]),
      b: makeTensor('bool', [2], [1, 0])
    }
    expect(fromOrtOutputs(toOrtFeeds(ort.Tensor as unknown as TensorCtor, map))).toEqual(map)
  })
  it('refuses output types the wire format cannot carry', () => {
    expect(() => fromOrtOutputs({ s: new ort.Tensor('string', ['a'], [1]) })).toThrowError(expect.objectContaining({ name: 'UnsupportedModelError' }))
  })
  it('normalises web-style unknown dims (uint32 -1) to symbolic', () => {
    const info = sessionValueInfo([{ name: 'input', isTensor: true, type: 'float32', shape: [4294967295, 576] }, { name: 'x', isTensor: true, type: 'float32', shape: ['N', 3] }])
    expect(info).toEqual([{ name: 'input', type: 'float32', shape: ['', 576] }, { name: 'x', type: 'float32', shape: ['N', 3] }])
    expect(zeroTensor(info[0]!)!.dims).toEqual([1, 576])
  })
  it('checks names, dtypes, rank and static dims before a run', () => {
    const inputs = [{ name: 'x', type: 'float32', shape: ['N', 3] as Array<number | string> }]
    expect(() => { checkInputs(inputs, { x: makeTensor('float32', [4, 3], new Array(12).fill(0)) }) }).not.toThrow()
    expect(() => { checkInputs(inputs, { y: makeTensor('float32', [1, 3], [0, 0, 0]) }) }).toThrowError(expect.objectContaining({ name: 'BadInputError' }))
    expect(() => { checkInputs(inputs, { x: makeTensor('int32', [1, 3], [0, 0, 0]) }) }).toThrow(/int32 but the model expects float32/)
    expect(() => { checkInputs(inputs, { x: makeTensor('float32', [3], [0, 0, 0]) }) }).toThrowError(expect.objectContaining({ name: 'InputShapeError' }))
    expect(() => { checkInputs(inputs, { x: makeTensor('float32', [1, 4], [0, 0, 0, 0]) }) }).toThrow(/dim 1 must be 3/)
  })
})
