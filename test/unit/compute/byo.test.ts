import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { tensorValues } from '../../../src/core/tensors.ts'
import { npyTensors, parseJsonTensors, parseNpy } from '../../../src/compute/models/byo.ts'
import { checkInputs, fromOrtOutputs, sessionValueInfo, toOrtFeeds, type TensorCtor } from '../../../src/compute/ort-tensors.ts'
import type { ValueInfo } from '../../../src/compute/protocol.ts'

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(`test/fixtures/byo/${name}`))
const inputs: ValueInfo[] = [{ name: 'x', type: 'float32', shape: ['N', 3] }]

describe('.npy reader against files NumPy wrote', () => {
  it('reads int64, bool, uint8 scalars, float64 and a v2.0 header', async () => {
    const i8 = parseNpy(await fixture('numpy-i8.npy'))
    expect(i8).toMatchObject({ dtype: 'int64', dims: [2, 3] })
    expect(Array.from(tensorValues(i8))).toEqual([-3, -2, -1, 0, 1, 2])
    const b1 = parseNpy(await fixture('numpy-b1.npy'))
    expect(b1).toMatchObject({ dtype: 'bool', dims: [2, 2] })
    expect(Array.from(b1.data)).toEqual([1, 0, 0, 1])
    const u1 = parseNpy(await fixture('numpy-u1-scalar.npy'))
    expect(u1).toMatchObject({ dtype: 'uint8', dims: [] })
    expect(Array.from(u1.data)).toEqual([7])
    expect(Array.from(tensorValues(parseNpy(await fixture('numpy-f8.npy'))))).toEqual([0, 0.25, 0.5, 0.75, 1])
    const v2 = parseNpy(await fixture('numpy-f4-v2.npy'))
    expect(v2).toMatchObject({ dtype: 'float32', dims: [2, 2] })
    expect(Array.from(tensorValues(v2))).toEqual([1, 1, 1, 1])
  })
  it('refuses Fortran order and big-endian data with what to do', async () => {
    expect(() => parseNpy(new Uint8Array(0))).toThrow(/not a \.npy file/)
    await expect(fixture('numpy-fortran.npy').then(parseNpy)).rejects.toThrow(/Fortran order.*ascontiguousarray/)
    await expect(fixture('numpy-big-endian.npy').then(parseNpy)).rejects.toThrow(/big-endian/)
  })
  it('refuses truncated data, unknown dtypes and junk', async () => {
    const good = await fixture('input.npy')
    expect(() => parseNpy(good.slice(0, good.length - 1))).toThrow(/needs 24/)
    const u2 = new TextDecoder('latin1').decode(good).replace("'<f4'", "'<U2'")
    expect(() => parseNpy(Uint8Array.from(u2, c => c.charCodeAt(0)))).toThrow(/not supported/)
    for (const junk of [new Uint8Array(9), new TextEncoder().encode('{"x": [1]}'), good.slice(0, 12)]) {
      expect(() => parseNpy(junk)).toThrowError(expect.objectContaining({ name: 'BadInputError' }))
    }
  })
})

describe('JSON inputs', () => {
  it('accept a bare array for a one-input model and an object keyed by name', () => {
    const a = parseJsonTensors('[[1, 2, 3]]', inputs)
    expect(a.x).toMatchObject({ dtype: 'float32', dims: [1, 3] })
    expect(parseJsonTensors('{"x": [[1, 2, 3]]}', inputs)).toEqual(a)
  })
  it('refuse ragged arrays, strings, unknown names and broken JSON', () => {
    expect(() => parseJsonTensors('[[1, 2, 3], [4, 5]]', inputs)).toThrow(/ragged/)
    expect(() => parseJsonTensors('[["a", 2, 3]]', inputs)).toThrow(/not a number/)
    expect(() => parseJsonTensors('{"y": [1]}', inputs)).toThrow(/unknown input y/)
    expect(() => parseJsonTensors('[1, 2', inputs)).toThrow(/not valid JSON/)
    expect(() => parseJsonTensors('[1.5]', [{ name: 'ids', type: 'int64', shape: ['N'] }])).toThrow(/does not fit as int64/)
  })
})

describe('a bring-your-own model under onnxruntime-node', () => {
  it('reads its I/O metadata, checks inputs, and reproduces the reference from .npy and JSON', async () => {
    const reference = JSON.parse(await readFile('test/fixtures/byo/reference.json', 'utf8')) as { y: { dims: number[], values: number[] } }
    const session = await ort.InferenceSession.create(await fixture('affine.onnx'))
    const info = sessionValueInfo(session.inputMetadata)
    expect(info).toEqual(inputs)
    expect(sessionValueInfo(session.outputMetadata)).toEqual([{ name: 'y', type: 'float32', shape: ['N', 2] }])
    for (const map of [npyTensors([{ name: 'anything.npy', bytes: await fixture('input.npy') }], info), parseJsonTensors(await readFile('test/fixtures/byo/input.json', 'utf8'), info)]) {
      checkInputs(info, map)
      const out = fromOrtOutputs(await session.run(toOrtFeeds(ort.Tensor as unknown as TensorCtor, map)) as Record<string, ort.Tensor>)
      expect(out.y!.dims).toEqual(reference.y.dims)
      expect(Array.from(tensorValues(out.y!))).toEqual(reference.y.values)
    }
    expect(() => { checkInputs(info, parseJsonTensors('[[1, 2]]', info)) }).toThrow(/dims \[1,2\] but the model expects \[N, 3\]/)
    expect(() => { checkInputs(info, parseJsonTensors('[1, 2, 3]', info)) }).toThrowError(expect.objectContaining({ name: 'InputShapeError' }))
    await session.release()
  })
  it('the unsupported-operator and garbage models fail to load in the reference runtime too', async () => {
    await expect(ort.InferenceSession.create(await fixture('unsupported-op.onnx'))).rejects.toThrow()
    await expect(ort.InferenceSession.create(await fixture('garbage.onnx'))).rejects.toThrow()
  })
})
