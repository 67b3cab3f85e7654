/**
 * How much work a shard holds, in the unit people count it in: images for
 * digits (a shard is a batch of N images) and text detection (one image),
 * lines for text recognition (one line), audio windows for voice activity
 * (the model runs once per 512-sample window of the clip). Shards of one job
 * can be a 256-image digits batch or a single OCR line, so a throughput in
 * shards alone says little; the dashboard charts samples when it knows them.
 * A model outside the catalog ('none') has no known unit: undefined.
 *
 * See src/compute/shard-task.ts for what each shard input carries.
 */
import type { TensorMap } from '../core/tensors.ts'
import { VAD } from './models/vad.ts'
import type { ProcessingId } from './catalog.ts'

export type SampleUnit = 'images' | 'lines' | 'windows'

export interface ShardSamples { count: number, unit: SampleUnit }

/**
 * The samples in one shard of a model with `processing`, from the tensors
 * its input carries (decoded, and inflated if it came packed); undefined
 * when the unit is unknown or the tensors are not what the model takes (the
 * shard then counts as a shard). Never throws.
 */
export function shardSamples (processing: ProcessingId, tensors: TensorMap): ShardSamples | undefined {
  if (processing === 'ocr-det') return { count: 1, unit: 'images' }
  if (processing === 'ocr-rec') return { count: 1, unit: 'lines' }
  if (processing === 'digits') {
    // Gray levels [N, 28, 28] or float input [N, 1, 28, 28]: N images either way.
    const n = Object.values(tensors)[0]?.dims[0]
    return n === undefined || n < 1 ? undefined : { count: n, unit: 'images' }
  }
  if (processing !== 'vad') return undefined
  const audio = tensors.audio
  if (audio === undefined || audio.dims.length !== 1) return undefined
  return { count: Math.ceil(audio.dims[0]! / VAD.frame), unit: 'windows' }
}
