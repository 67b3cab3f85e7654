/**
 * Makes the bring-your-own fixtures with our ONNX writer (scripts/onnx-writer.ts):
 * - `affine.onnx`: y = x·W + b, x float32 [N, 3] → y float32 [N, 2] (MatMul + Add, opset 13);
 * - `unsupported-op.onnx`: a well-formed model using an operator no runtime has;
 * - `pairs.onnx`: x float32 [N, 3] → y float32 [N / 2, 6] (Reshape to [-1, 6], opset 13):
 *   it runs on an even number of rows and fails at run time on an odd one, which
 *   the input check before posting cannot see (N is free);
 * - `garbage.onnx`: bytes that are not an ONNX protobuf;
 * - `input.npy` (NumPy v1.0 header, <f4, shape (2, 3)) and `input.json` (the same values);
 * - `reference.json`: y from onnxruntime-node;
 * - `numpy-*.npy`: files written by NumPy itself (when python3 with numpy is
 *   installed), so the .npy reader is tested against the reference writer:
 *   int64, bool, uint8, float64, a version 2.0 header, Fortran order, big-endian.
 *
 * Usage: npx tsx scripts/make-byo-fixtures.ts
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { encodeOnnxModel, type OnnxModel } from './onnx-writer.ts'
import { ROOT } from '../test/unit/compute/support/ort-node.ts'

const X = [[0.5, -1, 2], [3, 0.25, -0.75]]
const W = new Float32Array([1, -2, 0.5, 4, -1.5, 0.25])
const B = new Float32Array([0.1, -0.2])

function model (nodes: OnnxModel['graph']['nodes'], name: string): Uint8Array {
  return encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 13,
    producerName: 'essaim-fixtures',
    producerVersion: '1',
    graph: {
      name,
      nodes,
      initializers: [{ name: 'W', dims: [3, 2], type: 'float32', data: W }, { name: 'B', dims: [2], type: 'float32', data: B }],
      inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['N', 2] }]
    },
    metadata: [['essaim.fixture', name]]
  })
}

/** A NumPy v1.0 .npy of a float32 C-ordered array. */
export function npyFloat32 (dims: number[], values: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`
  const total = 10 + header.length + 1
  header += ' '.repeat((64 - total % 64) % 64) + '\n'
  const out = new Uint8Array(10 + header.length + values.length * 4)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  new Float32Array(out.buffer, 10 + header.length).set(values)
  return out
}

async function main (): Promise<void> {
  const dir = join(ROOT, 'test', 'fixtures', 'byo')
  mkdirSync(dir, { recursive: true })
  const affine = model([{ opType: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] }, { opType: 'Add', inputs: ['xw', 'B'], outputs: ['y'] }], 'affine')
  writeFileSync(join(dir, 'affine.onnx'), affine)
  writeFileSync(join(dir, 'unsupported-op.onnx'), model([{ opType: 'EssaimNoSuchOperator', inputs: ['x', 'W'], outputs: ['xw'] }, { opType: 'Add', inputs: ['xw', 'B'], outputs: ['y'] }], 'unsupported'))
  writeFileSync(join(dir, 'pairs.onnx'), encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 13,
    producerName: 'essaim-fixtures',
    producerVersion: '1',
    graph: {
      name: 'pairs',
      nodes: [{ opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
      initializers: [{ name: 'shape', dims: [2], type: 'int64', data: BigInt64Array.from([-1n, 6n]) }],
      inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['M', 6] }]
    },
    metadata: [['essaim.fixture', 'pairs']]
  }))
  writeFileSync(join(dir, 'garbage.onnx'), new TextEncoder().encode('this is not an ONNX model, just text saved with a .onnx name\n'))
  writeFileSync(join(dir, 'input.npy'), npyFloat32([2, 3], X.flat()))
  writeFileSync(join(dir, 'input.json'), JSON.stringify({ x: X }) + '\n')
  const session = await ort.InferenceSession.create(join(dir, 'affine.onnx'))
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(X.flat()), [2, 3]) })
  const y = out.y!
  writeFileSync(join(dir, 'reference.json'), JSON.stringify({
    note: 'Made by scripts/make-byo-fixtures.ts: y = x·W + b of input.npy / input.json under onnxruntime-node.',
    inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['N', 2] }],
    y: { dims: [...y.dims], values: Array.from(y.data as Float32Array) }
  }, null, 1) + '\n')
  console.log(Array.from(y.data as Float32Array))
  const numpy = `
import numpy as np, sys
d = sys.argv[1]
np.save(d + '/numpy-i8.npy', np.arange(-3, 3, dtype='<i8').reshape(2, 3))
np.save(d + '/numpy-b1.npy', np.array([[True, False], [False, True]]))
np.save(d + '/numpy-u1-scalar.npy', np.array(7, dtype=np.uint8))
np.save(d + '/numpy-f8.npy', np.linspace(0, 1, 5))
with open(d + '/numpy-f4-v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.ones((2, 2), dtype='<f4'), version=(2, 0))
np.save(d + '/numpy-fortran.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
np.save(d + '/numpy-big-endian.npy', np.arange(3, dtype='>f4'))
`
  try { execFileSync('python3', ['-c', numpy, dir]) } catch { console.warn('python3 with numpy not found: numpy-*.npy fixtures not regenerated') }
}

main().catch(err => { console.error(err); process.exit(1) })
