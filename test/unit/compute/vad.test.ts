import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { detectSpeech, speechSegments, wavTo16k, VAD } from '../../../src/compute/models/vad.ts'
import { encodeWav16, parseWav } from '../../../src/compute/models/wav.ts'
import { nodeRunner } from './support/ort-node.ts'

const reference = JSON.parse(await readFile('test/fixtures/vad/reference.json', 'utf8')) as {
  speech: Array<{ startMs: number, endMs: number }>, segments: Array<{ startMs: number, endMs: number }>, probs: number[], durationMs: number
}

describe('VAD pipeline under onnxruntime-node', () => {
  let runner: Awaited<ReturnType<typeof nodeRunner>>
  beforeAll(async () => { runner = await nodeRunner() })
  afterAll(async () => { await runner.close() })

  it('finds the two utterances placed in the fixture, and nothing in the silences', async () => {
    const wav = new Uint8Array(await readFile('test/fixtures/vad/speech.wav'))
    const out = await detectSpeech(wav, runner.run)
    expect(out.segments).toHaveLength(reference.speech.length)
    out.segments.forEach((s, i) => {
      // Within 150 ms of where the speech was placed (32 ms frames, 30 ms padding, onset detection).
      expect(Math.abs(s.startMs - reference.speech[i]!.startMs)).toBeLessThan(150)
      expect(Math.abs(s.endMs - reference.speech[i]!.endMs)).toBeLessThan(150)
    })
    expect(out.segments).toEqual(reference.segments)
    expect(out.durationMs).toBe(reference.durationMs)
    out.probs.forEach((p, i) => { expect(p).toBeCloseTo(reference.probs[i]!, 4) })
  })

  it('finds no speech in silence', async () => {
    const out = await detectSpeech(encodeWav16(new Float32Array(16_000), 16_000), runner.run)
    expect(out.segments).toEqual([])
  })
})

describe('segments from probabilities', () => {
  const frameMs = VAD.frame / 16
  it('joins short dips, drops blips, pads by 30 ms', () => {
    const probs = [0, 0, ...new Array(20).fill(0.9), 0.1, 0.9, ...new Array(10).fill(0.9), ...new Array(20).fill(0), 0.9, 0, 0, 0, 0, 0]
    const segs = speechSegments(probs, probs.length * VAD.frame)
    expect(segs).toEqual([{ startMs: 2 * frameMs - 30, endMs: 34 * frameMs + 30 }])
  })
  it('closes a segment still open at the end of the audio', () => {
    expect(speechSegments([0, ...new Array(20).fill(0.9)], 21 * VAD.frame)).toEqual([{ startMs: frameMs - 30, endMs: 21 * frameMs }])
  })
})

describe('WAV parsing', () => {
  it('round-trips 16-bit PCM', () => {
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.5)
    const back = parseWav(encodeWav16(x, 16_000))
    expect(back.sampleRate).toBe(16_000)
    back.samples.forEach((v, i) => { expect(v).toBeCloseTo(x[i]!, 4) })
  })
  it('refuses non-WAV bytes, truncated headers and other sample rates with clear messages', () => {
    expect(() => parseWav(new TextEncoder().encode('ID3 this is an mp3'))).toThrow(/not a WAV file/)
    expect(() => parseWav(encodeWav16(new Float32Array(4), 16_000).slice(0, 30))).toThrow(/fmt chunk is truncated/)
    expect(() => wavTo16k(encodeWav16(new Float32Array(10), 44_100))).toThrow(/44100 Hz; voice activity needs 16 kHz/)
    for (const junk of [new Uint8Array(0), new Uint8Array(12), new Uint8Array(1000).fill(0xff)]) {
      expect(() => parseWav(junk)).toThrowError(expect.objectContaining({ name: 'BadInputError' }))
    }
  })
  it('mixes stereo down to mono and reads float32', () => {
    const bytes = new Uint8Array(44 + 16)
    const v = new DataView(bytes.buffer)
    const ascii = (at: number, s: string): void => { for (let i = 0; i < 4; i++) v.setUint8(at + i, s.charCodeAt(i)) }
    ascii(0, 'RIFF'); v.setUint32(4, 36 + 16, true); ascii(8, 'WAVE'); ascii(12, 'fmt '); v.setUint32(16, 16, true)
    v.setUint16(20, 3, true); v.setUint16(22, 2, true); v.setUint32(24, 16_000, true); v.setUint16(34, 32, true)
    ascii(36, 'data'); v.setUint32(40, 16, true)
    v.setFloat32(44, 0.5, true); v.setFloat32(48, -0.5, true); v.setFloat32(52, 1, true); v.setFloat32(56, 0, true)
    expect(Array.from(parseWav(bytes).samples)).toEqual([0, 0.5])
  })
})
