/**
 * The pure parts of a job with the requester's own model: the manifest id
 * from a file name, the size cap, one shard per .json/.npy file checked
 * against the model's inputs (as onnxruntime-node reports them for the
 * committed fixture), shard outputs back to per-file results, and the CSV.
 * The shards built here, run by onnxruntime-node, give the fixture's
 * reference outputs (test/fixtures/byo/reference.json).
 */
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { decodeTensors, encodeTensors, makeTensor } from '../../../src/core/tensors.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'
import { BYO_COMPARE, buildByoInputs, byoModelId, readByoModel, shardTensors } from '../../../src/swarm/byo-job.ts'
import { fileResults, resultsCsv } from '../../../src/swarm/job-kinds.ts'
import { FOREIGN_MODEL_MAX_BYTES } from '../../../src/compute/foreign-model.ts'
import { fromOrtOutputs, sessionValueInfo, toOrtFeeds, type TensorCtor } from '../../../src/compute/ort-tensors.ts'
import type { ValueInfo } from '../../../src/compute/protocol.ts'
import { checkBody } from '../../../src/core/schemas.ts'

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(`test/fixtures/byo/${name}`))
const file = (name: string, bytes: Uint8Array | string): File => new File([typeof bytes === 'string' ? bytes : bytes as Uint8Array<ArrayBuffer>], name)
const X: ValueInfo[] = [{ name: 'x', type: 'float32', shape: ['N', 3] }]
const TWO: ValueInfo[] = [{ name: 'a', type: 'float32', shape: [2] }, { name: 'b', type: 'int64', shape: [] }]

describe('byoModelId', () => {
  it('keeps a plain name and makes any other a valid manifest id', () => {
    expect(byoModelId('affine.onnx')).toBe('affine')
    expect(byoModelId('My Model (v2).ONNX')).toBe('My-Model-v2')
    expect(byoModelId('.onnx')).toBe('model')
    expect(byoModelId('é'.repeat(10) + '.onnx')).toBe('model')
    expect(byoModelId('x'.repeat(100) + '.onnx')).toHaveLength(64)
    for (const name of ['affine.onnx', 'My Model (v2).ONNX', '.onnx', 'a b\tc\n.onnx', 'x'.repeat(100)]) {
      const body = { model: { id: byoModelId(name), sha256: 'a'.repeat(64) }, shards: [{ inputHash: new Uint8Array(32), bytes: 1 }], policy: { replicas: 2, quorum: 2, compare: BYO_COMPARE, canaryRate: 0, deadline: 1 } }
      expect(checkBody('job', body), name).toBeUndefined()
    }
  })
})

describe('readByoModel', () => {
  it('hashes the bytes', async () => {
    const bytes = await fixture('affine.onnx')
    const model = await readByoModel(file('affine.onnx', bytes))
    expect(model).toMatchObject({ name: 'affine.onnx', id: 'affine', sha256: toHex(sha256(bytes)) })
    expect(model.bytes).toEqual(bytes)
  })
  it('refuses a file over the cap without reading it, and an empty one', async () => {
    const huge = { name: 'big.onnx', size: FOREIGN_MODEL_MAX_BYTES + 1, arrayBuffer: async () => { throw new Error('must not be read') } }
    await expect(readByoModel(huge)).rejects.toMatchObject({ name: 'ModelTooLargeError', bytes: FOREIGN_MODEL_MAX_BYTES + 1 })
    await expect(readByoModel(file('empty.onnx', ''))).rejects.toMatchObject({ name: 'BadInputError', message: 'empty.onnx is empty' })
  })
})

describe('shardTensors', () => {
  it('reads a .json or a .npy for a one-input model', async () => {
    const fromJson = shardTensors({ name: 'a.json', bytes: await fixture('input.json') }, X)
    const fromNpy = shardTensors({ name: 'whatever.npy', bytes: await fixture('input.npy') }, X)
    expect(fromJson.x).toMatchObject({ dtype: 'float32', dims: [2, 3] })
    expect(encodeTensors(fromNpy)).toEqual(encodeTensors(fromJson))
  })
  it('reads a .json keyed by input name for a model with several inputs, and refuses .npy there', () => {
    const map = shardTensors({ name: 's.json', bytes: new TextEncoder().encode('{"a": [1, 2], "b": 7}') }, TWO)
    expect(map.a).toMatchObject({ dtype: 'float32', dims: [2] })
    expect(map.b).toMatchObject({ dtype: 'int64', dims: [] })
    expect(() => shardTensors({ name: 's.npy', bytes: new Uint8Array(0) }, TWO)).toThrow(/s\.npy: the model takes 2 inputs \(a, b\): give each shard as one \.json/)
  })
  it('names the file and says what is wrong: missing input, bad shape, wrong type, not JSON, other file types', () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
    expect(() => shardTensors({ name: 'm.json', bytes: enc('{"a": [1, 2]}') }, TWO)).toThrowError(expect.objectContaining({ name: 'BadInputError', message: 'm.json: missing input b (the model takes a, b)' }))
    expect(() => shardTensors({ name: 'r.json', bytes: enc('[[1, 2]]') }, X)).toThrowError(expect.objectContaining({ name: 'InputShapeError', message: expect.stringMatching(/^r\.json: input x has dims \[1,2\] but the model expects \[N, 3\]/) }))
    expect(() => shardTensors({ name: 'f.json', bytes: enc('{"a": [1.5, 2], "b": 0.5}') }, TWO)).toThrow(/^f\.json: input b/)
    expect(() => shardTensors({ name: 'j.json', bytes: enc('{nope') }, X)).toThrow(/^j\.json: not valid JSON/)
    expect(() => shardTensors({ name: 'p.png', bytes: enc('x') }, X)).toThrow('p.png: not a .json or .npy file')
  })
})

describe('a job with the fixture model, end to end in Node', () => {
  it('one shard per file; run by onnxruntime-node the outputs are the reference, per file, in JSON and CSV', async () => {
    const session = await ort.InferenceSession.create(await fixture('affine.onnx'))
    const inputs = sessionValueInfo(session.inputMetadata)
    const reference = JSON.parse(new TextDecoder().decode(await fixture('reference.json'))) as { y: { dims: number[], values: number[] } }
    const scaled = JSON.stringify({ x: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] })
    const files = [file('input.json', await fixture('input.json')), file('input.npy', await fixture('input.npy')), file('basis.json', scaled)]
    const progress: number[] = []
    const built = await buildByoInputs(files, inputs, { onProgress: n => progress.push(n) })
    expect(progress).toEqual([1, 2, 3])
    expect(built.meta).toEqual({ kind: 'tensors', files: ['input.json', 'input.npy', 'basis.json'] })
    expect(built.inputs).toHaveLength(3)

    const outputs = new Map<number, Uint8Array>()
    for (const [shard, bytes] of built.inputs.entries()) {
      const decoded = decodeTensors(bytes)
      if (!decoded.ok) throw new Error(decoded.reason)
      const out = await session.run(toOrtFeeds(ort.Tensor as unknown as TensorCtor, decoded.tensors))
      outputs.set(shard, encodeTensors(fromOrtOutputs(out as Record<string, ort.Tensor>)))
    }
    const results = fileResults(built.meta, outputs)
    expect(results.map(r => r.file)).toEqual(['input.json', 'input.npy', 'basis.json'])
    for (const r of results.slice(0, 2)) {
      if (r.kind !== 'tensors') throw new Error('expected tensors')
      expect(r.output.y!.dims).toEqual(reference.y.dims)
      r.output.y!.values.forEach((v, i) => { expect(v).toBeCloseTo(reference.y.values[i]!, 6) })
    }
    const csv = resultsCsv(results).trim().split('\n')
    expect(csv[0]).toBe('file,output,dtype,dims,values')
    expect(csv).toHaveLength(4)
    expect(csv[1]).toMatch(/^input\.json,y,float32,2x2,-2\.9\d* -4\.69\d* 4\.34\d* -5\.387\d*$/)
    await session.release()
  })
  it('an unusable file stops the build, naming it', async () => {
    await expect(buildByoInputs([file('ok.json', '[[1,2,3]]'), file('bad.json', '[[1,2]]')], X)).rejects.toThrow(/^bad\.json: input x has dims/)
    await expect(buildByoInputs([], X)).rejects.toThrow(/at least one/)
  })
})

describe('resultsCsv for tensor outputs', () => {
  it('one row per file and output, quoted where needed', () => {
    const out = encodeTensors({ y: makeTensor('float32', [2], [0.5, -1]), k: makeTensor('int64', [], [3n]) })
    const results = fileResults({ kind: 'tensors', files: ['a,b.json'] }, new Map([[0, out]]))
    expect(resultsCsv(results)).toBe('file,output,dtype,dims,values\n"a,b.json",k,int64,,3\n"a,b.json",y,float32,2,0.5 -1\n')
  })
})
