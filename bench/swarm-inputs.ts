/**
 * Job inputs for the swarm bench, as the files a requester would drop on the
 * Submit page: digits as PNG images and speech as 16 kHz WAV clips, all made
 * from the test fixtures, every one distinct (identical shards would measure
 * nothing different, but keep the figures honest about real inputs).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { grayPng } from '../test/e2e/support/png.ts'

export interface InputFile { name: string, mimeType: string, buffer: Buffer }

const FIXTURE_DIGITS = 200

/**
 * `count` 28×28 digit PNGs: the 200 held-out MNIST fixtures, each further
 * round of 200 rolled one more pixel to the right, so no two files are equal.
 */
export function digitFiles (count: number, tag: string): InputFile[] {
  const raw = readFileSync(join('test', 'fixtures', 'digits', 'inputs.f32'))
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const files: InputFile[] = []
  for (let i = 0; i < count; i++) {
    const src = values.subarray((i % FIXTURE_DIGITS) * 784, (i % FIXTURE_DIGITS + 1) * 784)
    const shift = Math.floor(i / FIXTURE_DIGITS)
    const gray = new Uint8Array(784)
    for (let p = 0; p < 784; p++) {
      const row = Math.floor(p / 28)
      const col = (p % 28 + 28 - (shift % 28)) % 28
      gray[p] = Math.round(src[row * 28 + col]! * 255)
    }
    files.push({ name: `${tag}-${String(i).padStart(5, '0')}.png`, mimeType: 'image/png', buffer: grayPng(28, 28, gray) })
  }
  return files
}

/**
 * The digits warm-up job: 48 shards of 8 images, enough that the first
 * volunteer to pull (it holds up to WORK_MAX_HELD) leaves some to the
 * others, so that each loads the model before a measured job.
 */
export function digitsWarmUp (): { files: InputFile[], shards: number, perShard: number } {
  return { files: digitFiles(8 * 48, `w${Date.now()}`), shards: 48, perShard: 8 }
}

/** PCM16 mono samples of test/fixtures/vad/speech.wav (16 kHz, made by scripts/make-vad-fixtures.ts). */
function speechSamples (): Int16Array {
  const bytes = readFileSync(join('test', 'fixtures', 'vad', 'speech.wav'))
  let at = 12
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('ascii', at, at + 4)
    const size = bytes.readUInt32LE(at + 4)
    if (id === 'data') return new Int16Array(bytes.buffer.slice(bytes.byteOffset + at + 8, bytes.byteOffset + at + 8 + size))
    at += 8 + size + (size & 1)
  }
  throw new Error('speech.wav has no data chunk')
}

function wav16k (samples: Int16Array): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + samples.byteLength, 4)
  header.write('WAVEfmt ', 8, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(16_000, 24)
  header.writeUInt32LE(32_000, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(samples.byteLength, 40)
  return Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)])
}

/** Frames the VAD runs per clip of `samples` (one per 512 samples, the last one padded). */
export const vadFrames = (samples: number): number => Math.ceil(samples / 512)

/**
 * `count` WAV clips of the fixture's length, clip k rotated by k·1 000
 * samples (so each holds the same speech at a different place); returns the
 * files and the samples per clip.
 */
export function speechFiles (count: number, tag: string): { files: InputFile[], samples: number } {
  const speech = speechSamples()
  const files: InputFile[] = []
  for (let k = 0; k < count; k++) {
    const shift = (k * 1000) % speech.length
    const clip = new Int16Array(speech.length)
    clip.set(speech.subarray(shift))
    clip.set(speech.subarray(0, shift), speech.length - shift)
    files.push({ name: `${tag}-${String(k).padStart(3, '0')}.wav`, mimeType: 'audio/wav', buffer: wav16k(clip) })
  }
  return { files, samples: speech.length }
}

const TEXT_WIDTH = 480
const TEXT_HEIGHT = 160

/**
 * `count` grayscale PNGs of the OCR fixture (test/fixtures/ocr/text.rgba,
 * 480×160, two lines of text): image k moved k mod 16 pixels right and
 * ⌊k / 16⌋ mod 16 down on a white page, so no two files are equal.
 */
export function textFiles (count: number, tag: string): InputFile[] {
  const rgba = readFileSync(join('test', 'fixtures', 'ocr', 'text.rgba'))
  const gray = new Uint8Array(TEXT_WIDTH * TEXT_HEIGHT)
  for (let p = 0; p < gray.length; p++) gray[p] = Math.round(0.299 * rgba[4 * p]! + 0.587 * rgba[4 * p + 1]! + 0.114 * rgba[4 * p + 2]!)
  const files: InputFile[] = []
  for (let k = 0; k < count; k++) {
    const dx = k % 16
    const dy = Math.floor(k / 16) % 16
    const moved = new Uint8Array(gray.length).fill(255)
    for (let y = dy; y < TEXT_HEIGHT; y++) moved.set(gray.subarray((y - dy) * TEXT_WIDTH, (y - dy + 1) * TEXT_WIDTH - dx), y * TEXT_WIDTH + dx)
    files.push({ name: `${tag}-${String(k).padStart(3, '0')}.png`, mimeType: 'image/png', buffer: grayPng(TEXT_WIDTH, TEXT_HEIGHT, moved) })
  }
  return files
}
