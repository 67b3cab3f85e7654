/**
 * Makes the voice-activity fixture: silence, a sentence, silence, another
 * sentence, silence (1 s each gap), the sentences synthesised by espeak-ng
 * (apt-get install espeak-ng), as a 16 kHz mono 16-bit WAV. Where the speech
 * is is known by construction (each utterance is trimmed to its first and
 * last sample above -40 dBFS before being placed), and recorded with the
 * reference output of our VAD pipeline under onnxruntime-node.
 *
 * Usage: npx tsx scripts/make-vad-fixtures.ts
 * Writes test/fixtures/vad/{speech.wav, reference.json}.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, nodeRunner } from '../test/unit/compute/support/ort-node.ts'
import { encodeWav16, parseWav } from '../src/compute/models/wav.ts'
import { detectSpeech } from '../src/compute/models/vad.ts'

const SENTENCES = ['Hello from the swarm', 'Every volunteer checks the model hash before running it']
const RATE = 16_000
const SILENCE_MS = 1000

/** Windowed-sinc (Hann, 32 taps a side) resampler, low-passed at the lower Nyquist. */
function resample (x: Float32Array, from: number, to: number): Float32Array {
  const out = new Float32Array(Math.floor(x.length * to / from))
  const cutoff = Math.min(1, to / from)
  const taps = 32
  for (let i = 0; i < out.length; i++) {
    const t = i * from / to
    const c = Math.floor(t)
    let sum = 0
    for (let k = c - taps + 1; k <= c + taps; k++) {
      if (k < 0 || k >= x.length) continue
      const d = t - k
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * d * cutoff) / (Math.PI * d * cutoff)
      const w = 0.5 + 0.5 * Math.cos(Math.PI * d / taps)
      sum += x[k]! * cutoff * sinc * w
    }
    out[i] = sum
  }
  return out
}

async function main (): Promise<void> {
  const dir = join(ROOT, 'test', 'fixtures', 'vad')
  mkdirSync(dir, { recursive: true })
  const work = mkdtempSync(join(tmpdir(), 'essaim-vad-'))
  const loud = 10 ** (-40 / 20)
  const utterances = SENTENCES.map((sentence, n) => {
    const file = join(work, `say${n}.wav`)
    execFileSync('espeak-ng', ['-v', 'en', '-s', '150', '-w', file, sentence])
    const said = parseWav(new Uint8Array(readFileSync(file)))
    const speech = resample(said.samples, said.sampleRate, RATE)
    const first = speech.findIndex(v => Math.abs(v) > loud)
    const last = speech.length - 1 - [...speech].reverse().findIndex(v => Math.abs(v) > loud)
    return speech.slice(first, last + 1)
  })
  const gap = SILENCE_MS * RATE / 1000
  const all = new Float32Array(gap * (utterances.length + 1) + utterances.reduce((n, u) => n + u.length, 0))
  const speech: Array<{ startMs: number, endMs: number }> = []
  let at = gap
  for (const u of utterances) {
    all.set(u, at)
    speech.push({ startMs: Math.round(at * 1000 / RATE), endMs: Math.round((at + u.length) * 1000 / RATE) })
    at += u.length + gap
  }
  const wav = encodeWav16(all, RATE)
  writeFileSync(join(dir, 'speech.wav'), wav)

  const runner = await nodeRunner()
  const result = await detectSpeech(wav, runner.run)
  await runner.close()
  const reference = {
    note: 'Made by scripts/make-vad-fixtures.ts: espeak-ng two utterances, each between 1 s silences, 16 kHz mono. segments/probs from onnxruntime-node (1 thread).',
    sentences: SENTENCES,
    speech,
    durationMs: result.durationMs,
    segments: result.segments,
    probs: result.probs.map(p => Number(p.toFixed(6)))
  }
  writeFileSync(join(dir, 'reference.json'), JSON.stringify(reference, null, 1) + '\n')
  console.log(reference.speech, reference.segments)
}

main().catch(err => { console.error(err); process.exit(1) })
