/**
 * What "computing a shard" means for each kind of model, run inside the
 * inference worker (a `shard` request, src/compute/worker.ts): the page
 * posts the shard's bytes as they came and gets the output bytes back, and
 * everything in between (decoding, pre-processing, every inference) stays
 * off the page's thread. For most models a shard is one inference. Silero
 * VAD is stateful frame by frame, so a VAD shard is a whole clip (`audio`:
 * float32 [samples] at 16 kHz) and its output is the speech probability of
 * every frame (`probs`); the requester turns those into segments, with the
 * same code the Models page uses.
 * An OCR shard (text detection or recognition) carries its pixels as
 * `rgb`: uint8 [H, W, 3], already at the model's size; the volunteer turns
 * them into the model's float input (a quarter of the bytes on the wire).
 * A recognition shard's output is what its text is read from, the likeliest
 * class and its probability per step (`best`, `prob`: models/ocr.ts
 * recBest), not the model's [1, T, 6625] probabilities (~2 MB a line, which
 * bound the requester at a few lines per second).
 * A digits shard likewise carries gray levels (`gray`: uint8 [N, 28, 28]);
 * one that carries the float `input` itself (posted before shards carried
 * levels) runs as it is. Any of these may come packed (deflated, see
 * src/core/packed-input.ts): it is inflated here first.
 */
import { encodeTensors, makeTensor, tensorValues, type TensorMap } from '../core/tensors.ts'
import { unpackShardInput } from '../core/packed-input.ts'
import { shardSamples, type ShardSamples } from './shard-samples.ts'
import { BadInputError } from './errors.ts'
import { frameProbabilities } from './models/vad.ts'
import { detTensor, recBest, recTensor } from './models/ocr.ts'
import { DIGITS, digitsShardToInput } from './models/digits.ts'
import type { ProcessingId } from './catalog.ts'

/**
 * Runs a loaded model on named tensors and returns its named outputs. In the
 * app this is the inference worker's own queue (src/compute/worker.ts runs
 * whole shards, so a VAD clip's hundreds of frames never cross to the page);
 * in Node tests, onnxruntime-node.
 */
export type RunTensors = (feeds: TensorMap, options: { signal?: AbortSignal }) => Promise<TensorMap>

/** The largest shard input a volunteer decodes (the manifest also caps it). */
const MAX_INPUT_BYTES = 64 * 1024 * 1024

/** The VAD shard input for a clip of 16 kHz samples. */
export function vadShardInput (samples: Float32Array): Uint8Array {
  return encodeTensors({ audio: makeTensor('float32', [samples.length], samples) })
}

/** A computed shard: `encodeTensors` bytes of its output, and the samples it held when the model's unit is known. */
export interface ShardOutput { output: Uint8Array, samples: ShardSamples | undefined }

/**
 * Computes one shard.
 * @throws {BadInputError} the input does not decode (or inflate) or lacks what the processing needs.
 * @throws whatever `run` throws (InputShapeError, CancelledError, …).
 */
export async function computeShard (processing: ProcessingId, input: Uint8Array, run: RunTensors, options: { signal?: AbortSignal } = {}): Promise<ShardOutput> {
  const unpacked = await unpackShardInput(input, MAX_INPUT_BYTES)
  if (!unpacked.ok) throw new BadInputError(`shard input: ${unpacked.reason}`)
  const tensors = unpacked.tensors
  const samples = shardSamples(processing, tensors)
  return { output: await computeOutput(processing, tensors, run, options), samples }
}

async function computeOutput (processing: ProcessingId, tensors: TensorMap, run: RunTensors, options: { signal?: AbortSignal }): Promise<Uint8Array> {
  if (processing === 'none') return encodeTensors(await run(tensors, options))
  if (processing === 'digits') {
    const gray = tensors[DIGITS.shard]
    return encodeTensors(await run(gray === undefined ? tensors : digitsShardToInput(gray), options))
  }
  if (processing !== 'vad') {
    const rgb = tensors.rgb
    if (rgb === undefined) throw new BadInputError('an OCR shard needs `rgb`: uint8 [H, W, 3]')
    if (processing === 'ocr-det') return encodeTensors(await run(detTensor(rgb), options))
    const probs = Object.values(await run(recTensor(rgb), options))
    if (probs.length !== 1) throw new BadInputError(`the recognition model gave ${probs.length} outputs, expected 1`)
    return encodeTensors(recBest(probs[0]!))
  }
  const audio = tensors.audio
  if (audio === undefined || audio.dtype !== 'float32' || audio.dims.length !== 1) throw new BadInputError('a VAD shard needs `audio`: float32 [samples]')
  const samples = Float32Array.from(tensorValues(audio))
  const probs = await frameProbabilities(samples, async (_model, inputs: TensorMap, o) => await run(inputs, o ?? options), options)
  return encodeTensors({ probs: makeTensor('float32', [probs.length], probs) })
}
