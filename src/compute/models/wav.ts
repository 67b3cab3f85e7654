/**
 * A strict RIFF/WAVE reader for the VAD pipeline: PCM 8/16/24/32-bit
 * integers and IEEE float 32/64, any channel count (mixed down to mono by
 * averaging). No resampling: Silero VAD here is run at 16 kHz, and a file at
 * another rate is refused with a message saying how to convert it, because a
 * quick resampler would change what the model hears and so the segments.
 * Every size read from the file is checked against the bytes actually there.
 */
import { BadInputError } from '../errors.ts'

export interface WavAudio {
  sampleRate: number
  channels: number
  /** Mono samples in [-1, 1]. */
  samples: Float32Array
}

/** Longest audio accepted: 30 minutes at 16 kHz. */
export const MAX_WAV_SAMPLES = 30 * 60 * 16_000

function fourcc (view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3))
}

/**
 * Parses a WAV file.
 * @throws {BadInputError} not RIFF/WAVE, a missing or truncated chunk, an unsupported encoding.
 */
const DAMAGED = { code: 'wav-damaged' } as const

export function parseWav (bytes: Uint8Array): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') throw new BadInputError('not a WAV file (no RIFF/WAVE header)', { code: 'not-wav' })
  let fmt: { format: number, channels: number, rate: number, bits: number } | undefined
  let at = 12
  while (at + 8 <= bytes.length) {
    const id = fourcc(view, at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new BadInputError('WAV fmt chunk is truncated', DAMAGED)
      let format = view.getUint16(body, true)
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 40 && body + 26 <= bytes.length) format = view.getUint16(body + 24, true)
      fmt = { format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) }
    } else if (id === 'data') {
      if (fmt === undefined) throw new BadInputError('WAV data chunk comes before its fmt chunk', DAMAGED)
      const length = Math.min(size, bytes.length - body)
      return decode(fmt, bytes.subarray(body, body + length))
    }
    at = body + size + (size % 2)
  }
  throw new BadInputError(fmt === undefined ? 'WAV file has no fmt chunk' : 'WAV file has no data chunk', DAMAGED)
}

function decode (fmt: { format: number, channels: number, rate: number, bits: number }, data: Uint8Array): WavAudio {
  const { format, channels, rate, bits } = fmt
  if (channels < 1 || channels > 32) throw new BadInputError(`WAV has ${channels} channels`, DAMAGED)
  const pcm = format === 1 && [8, 16, 24, 32].includes(bits)
  const float = format === 3 && (bits === 32 || bits === 64)
  if (!pcm && !float) throw new BadInputError(`unsupported WAV encoding (format ${format}, ${bits} bits): use PCM 16-bit or float 32-bit`, { code: 'wav-encoding', params: { format, bits } })
  const bytesPer = bits / 8
  const frames = Math.floor(data.length / (bytesPer * channels))
  if (frames > MAX_WAV_SAMPLES * (rate / 16_000)) throw new BadInputError('WAV is longer than 30 minutes', { code: 'wav-too-long', params: { minutes: 30 } })
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const read = (off: number): number => {
    if (float) return bits === 32 ? view.getFloat32(off, true) : view.getFloat64(off, true)
    switch (bits) {
      case 8: return (view.getUint8(off) - 128) / 128
      case 16: return view.getInt16(off, true) / 32768
      case 24: return ((view.getUint8(off + 2) << 24 >> 8) | (view.getUint8(off + 1) << 8) | view.getUint8(off)) / 8388608
      default: return view.getInt32(off, true) / 2147483648
    }
  }
  const samples = new Float32Array(frames)
  for (let i = 0; i < frames; i++) {
    let sum = 0
    for (let c = 0; c < channels; c++) sum += read((i * channels + c) * bytesPer)
    samples[i] = sum / channels
  }
  return { sampleRate: rate, channels, samples }
}

/** 16-bit PCM mono WAV bytes of `samples` (used by fixtures and tests). */
export function encodeWav16 (samples: Float32Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2)
  const v = new DataView(out.buffer)
  const ascii = (at: number, s: string): void => { for (let i = 0; i < 4; i++) v.setUint8(at + i, s.charCodeAt(i)) }
  ascii(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); ascii(8, 'WAVE')
  ascii(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true)
  v.setUint32(24, sampleRate, true); v.setUint32(28, sampleRate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true)
  ascii(36, 'data'); v.setUint32(40, samples.length * 2, true)
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), true)
  return out
}
