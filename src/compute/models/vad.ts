/**
 * Voice activity with Silero VAD v5 (snakers4/silero-vad, MIT): 16 kHz mono
 * audio → speech segments.
 *
 * The model is stateful: it is run frame by frame, each frame 512 new
 * samples preceded by the last 64 samples of the previous frame (the context
 * window of silero-vad's `OnnxWrapper`), with the recurrent `state` carried
 * from one run to the next. Frame probabilities become segments as in
 * silero-vad's `get_speech_timestamps`: speech starts at p ≥ 0.5, ends after
 * ≥ 100 ms with p < 0.35; segments shorter than 250 ms are dropped; each is
 * padded by 30 ms.
 */
import { makeTensor, tensorValues, type TensorData } from '../../core/tensors.ts'
import { BadInputError } from '../errors.ts'
import { parseWav } from './wav.ts'
import type { RunModel } from './runner.ts'

export const VAD = {
  model: 'vad',
  sampleRate: 16_000,
  frame: 512,
  context: 64,
  threshold: 0.5,
  negThreshold: 0.35,
  minSpeechMs: 250,
  minSilenceMs: 100,
  padMs: 30
} as const

export interface SpeechSegment { startMs: number, endMs: number }

/**
 * 16 kHz samples of a WAV file.
 * @throws {BadInputError} not a WAV, or not 16 kHz (with how to convert).
 */
export function wavTo16k (bytes: Uint8Array): Float32Array {
  const wav = parseWav(bytes)
  if (wav.sampleRate !== VAD.sampleRate) {
    throw new BadInputError(`the WAV is ${wav.sampleRate} Hz; voice activity needs 16 kHz (convert with: ffmpeg -i in.wav -ar 16000 -ac 1 out.wav)`, { code: 'wav-rate', params: { rate: wav.sampleRate } })
  }
  return wav.samples
}

/** Speech probability of each 512-sample frame (32 ms), running the model with its state. */
export async function frameProbabilities (samples: Float32Array, run: RunModel, options: { signal?: AbortSignal } = {}): Promise<number[]> {
  const sr = makeTensor('int64', [], [BigInt(VAD.sampleRate)])
  let state: TensorData = makeTensor('float32', [2, 1, 128], new Float32Array(256))
  const probs: number[] = []
  const window = new Float32Array(VAD.context + VAD.frame)
  for (let at = 0; at < samples.length; at += VAD.frame) {
    window.copyWithin(0, VAD.frame) // last 64 samples of the previous frame become the context
    window.fill(0, VAD.context)
    window.set(samples.subarray(at, at + VAD.frame), VAD.context)
    const out = await run(VAD.model, { input: makeTensor('float32', [1, window.length], window), state, sr }, options)
    const p = out.output
    const next = out.stateN
    if (p === undefined || next === undefined) throw new BadInputError('the VAD model did not return output and stateN')
    probs.push(tensorValues(p)[0]!)
    state = next
  }
  return probs
}

/** Segments from frame probabilities (silero-vad `get_speech_timestamps`, simplified to one pass). */
export function speechSegments (probs: readonly number[], totalSamples: number): SpeechSegment[] {
  const ms = (samples: number): number => Math.round(samples * 1000 / VAD.sampleRate)
  const minSilence = VAD.minSilenceMs * VAD.sampleRate / 1000
  const minSpeech = VAD.minSpeechMs * VAD.sampleRate / 1000
  const pad = VAD.padMs * VAD.sampleRate / 1000
  const raw: Array<[number, number]> = []
  let start = -1
  let tempEnd = -1
  probs.forEach((p, i) => {
    const at = i * VAD.frame
    if (p >= VAD.threshold && tempEnd >= 0) tempEnd = -1
    if (p >= VAD.threshold && start < 0) { start = at; return }
    if (p < VAD.negThreshold && start >= 0) {
      if (tempEnd < 0) tempEnd = at
      if (at - tempEnd < minSilence) return
      if (tempEnd - start > minSpeech) raw.push([start, tempEnd])
      start = -1
      tempEnd = -1
    }
  })
  if (start >= 0 && totalSamples - start > minSpeech) raw.push([start, totalSamples])
  return raw.map(([s, e]) => ({ startMs: ms(Math.max(0, s - pad)), endMs: ms(Math.min(totalSamples, e + pad)) }))
}

/** Speech segments of a 16 kHz WAV file. */
export async function detectSpeech (wav: Uint8Array, run: RunModel, options: { signal?: AbortSignal } = {}): Promise<{ segments: SpeechSegment[], probs: number[], durationMs: number }> {
  const samples = wavTo16k(wav)
  const probs = await frameProbabilities(samples, run, options)
  return { segments: speechSegments(probs, samples.length), probs, durationMs: Math.round(samples.length * 1000 / VAD.sampleRate) }
}
