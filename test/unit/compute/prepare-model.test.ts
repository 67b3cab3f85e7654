/**
 * src/compute/prepare-model.ts: the one-node model the worker starts its
 * runtime on must stay exactly what scripts/onnx-writer.ts writes for it,
 * and must load and run (onnxruntime-node here, the same ONNX runtime core).
 */
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { encodeOnnxModel } from '../../../scripts/onnx-writer.ts'
import { PREPARE_MODEL } from '../../../src/compute/prepare-model.ts'

describe('PREPARE_MODEL', () => {
  it('is the writer\'s Identity model, float32 [1] → [1], IR 8, opset 13', () => {
    const written = encodeOnnxModel({
      irVersion: 8,
      opsetVersion: 13,
      producerName: 'essaim',
      producerVersion: '1',
      graph: {
        name: 'prepare',
        nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
        initializers: [],
        inputs: [{ name: 'x', type: 'float32', shape: [1] }],
        outputs: [{ name: 'y', type: 'float32', shape: [1] }]
      }
    })
    expect([...PREPARE_MODEL]).toEqual([...written])
  })

  it('loads and passes its input through', async () => {
    const session = await ort.InferenceSession.create(PREPARE_MODEL)
    try {
      expect(session.inputNames).toEqual(['x'])
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([2.5]), [1]) })
      expect([...(out.y!.data as Float32Array)]).toEqual([2.5])
    } finally {
      await session.release()
    }
  })
})
