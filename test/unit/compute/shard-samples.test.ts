/**
 * Samples per shard, for the dashboard's throughput: images in a digits
 * batch (gray levels or float input), one image per text-detection shard,
 * one line per recognition shard, 512-sample windows of a VAD clip; nothing
 * for a model outside the catalog or tensors that are not what the model takes.
 */
import { describe, expect, it } from 'vitest'
import { decodeTensors, makeTensor, type TensorMap } from '../../../src/core/tensors.ts'
import { shardSamples } from '../../../src/compute/shard-samples.ts'
import { vadShardInput } from '../../../src/compute/shard-task.ts'

function tensorsOf (bytes: Uint8Array): TensorMap {
  const d = decodeTensors(bytes)
  if (!d.ok) throw new Error(d.reason)
  return d.tensors
}

describe('shardSamples', () => {
  it('counts the images of a digits shard, whichever tensor carries them', () => {
    expect(shardSamples('digits', { gray: makeTensor('uint8', [256, 28, 28], new Uint8Array(256 * 784)) })).toEqual({ count: 256, unit: 'images' })
    expect(shardSamples('digits', { input: makeTensor('float32', [3, 1, 28, 28], new Float32Array(3 * 784)) })).toEqual({ count: 3, unit: 'images' })
  })

  it('counts one image per detection shard and one line per recognition shard', () => {
    expect(shardSamples('ocr-det', {})).toEqual({ count: 1, unit: 'images' })
    expect(shardSamples('ocr-rec', {})).toEqual({ count: 1, unit: 'lines' })
  })

  it('counts the 512-sample windows the VAD model runs on, a partial last one included', () => {
    expect(shardSamples('vad', tensorsOf(vadShardInput(new Float32Array(16_000))))).toEqual({ count: 32, unit: 'windows' })
    expect(shardSamples('vad', tensorsOf(vadShardInput(new Float32Array(1024))))).toEqual({ count: 2, unit: 'windows' })
  })

  it('knows nothing of models outside the catalog, empty batches or tensors the model does not take', () => {
    expect(shardSamples('none', { x: makeTensor('float32', [4, 2], new Float32Array(8)) })).toBeUndefined()
    expect(shardSamples('digits', { gray: makeTensor('uint8', [0, 28, 28], new Uint8Array(0)) })).toBeUndefined()
    expect(shardSamples('vad', { x: makeTensor('float32', [4], new Float32Array(4)) })).toBeUndefined()
  })
})
