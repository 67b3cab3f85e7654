/**
 * FrameReader and writeFrame on a pair of in-memory libp2p streams (the
 * muxer's own stream classes): frames split anywhere across messages or
 * packed several to a message come back whole and in order; each frame's
 * length is put to `admit` once, and every admitted frame is released
 * exactly once; refused lengths, malformed prefixes, frames cut short and
 * bytes past the bound are failures that say why, after which nothing more
 * is held.
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { FrameReader, writeFrame, type Frame } from '../../../src/net/protocols/frames.ts'
import { framed } from './raw-exchange.ts'

const signal = (): AbortSignal => AbortSignal.timeout(5_000)

/** Sends `bytes` cut at `cuts` (offsets), one message per piece. */
async function sendInPieces (stream: Stream, bytes: Uint8Array, cuts: number[]): Promise<void> {
  const at = [0, ...[...new Set(cuts)].filter(c => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]
  for (let i = 0; i + 1 < at.length; i++) {
    if (!stream.send(bytes.subarray(at[i], at[i + 1]))) await stream.onDrain()
  }
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

describe('FrameReader', () => {
  it('reads back frames cut anywhere and packed together, in order, admitting and releasing each once', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(2_000), { maxLength: 12 }),
      async (frames, cuts) => {
        const [a, b] = await streamPair()
        const admitted: number[] = []
        const released: number[] = []
        const reader = new FrameReader(b, { admit: n => { admitted.push(n); return undefined }, release: n => { released.push(n) }, slack: 4_096 })
        await sendInPieces(a, concat(frames.map(f => framed(f))), cuts)
        await a.close()
        const got: Frame[] = []
        for (;;) {
          const frame = await reader.next({ signal: signal() })
          if (frame === null) break
          got.push(frame)
        }
        expect(got).toEqual(frames.map(bytes => ({ ok: true, bytes })))
        expect(admitted).toEqual(frames.map(f => f.length))
        expect(released).toEqual(admitted)
        expect(reader.idle).toBe(true)
        reader.stop()
      }
    ), { numRuns: 40 })
  })

  it('writeFrame frames what the reader reads, over 4 MiB too', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, { admit: () => undefined, slack: 0 })
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251)
    const writing = writeFrame(a, big, { signal: signal() }).then(async () => { await writeFrame(a, Uint8Array.of(7), { signal: signal() }) })
    expect(await reader.next({ signal: signal() })).toEqual({ ok: true, bytes: big })
    expect(await reader.next({ signal: signal() })).toEqual({ ok: true, bytes: Uint8Array.of(7) })
    await writing
  })

  it('a refused length is a failure naming why; the frame\'s bytes are dropped, and so is all that follows', async () => {
    const [a, b] = await streamPair()
    const released: number[] = []
    const reader = new FrameReader(b, { admit: n => n > 100 ? `frame too long: ${n}` : undefined, release: n => { released.push(n) }, slack: 300 })
    a.send(concat([framed(new Uint8Array(10)), framed(new Uint8Array(200)), framed(new Uint8Array(5))]))
    expect(await reader.next({ signal: signal() })).toEqual({ ok: true, bytes: new Uint8Array(10) })
    expect(await reader.next({ signal: signal() })).toEqual({ ok: false, reason: 'frame too long: 200' })
    expect(reader.idle).toBe(false)
    a.send(framed(new Uint8Array(5)))
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(await reader.next({ signal: signal() })).toEqual({ ok: false, reason: 'frame too long: 200' })
    expect(released).toEqual([10])
  })

  it('a malformed length prefix, and a frame cut short, are failures', async () => {
    const malformed = await streamPair()
    const r1 = new FrameReader(malformed[1], { admit: () => undefined, slack: 64 })
    malformed[0].send(new Uint8Array(11).fill(0xff))
    expect(await r1.next({ signal: signal() })).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed length prefix/) })

    const [a, b] = await streamPair()
    const released: number[] = []
    const r2 = new FrameReader(b, { admit: () => undefined, release: n => { released.push(n) }, slack: 64 })
    a.send(framed(new Uint8Array(100)).subarray(0, 40))
    await a.close()
    expect(await r2.next({ signal: signal() })).toEqual({ ok: false, reason: 'frame cut short: 39 of 100 bytes' })
    expect(released).toEqual([100])
  })

  it('holds no more than the frame being read plus the slack: more is a failure, and nothing is kept', async () => {
    const [a, b] = await streamPair()
    const released: number[] = []
    const reader = new FrameReader(b, { admit: () => undefined, release: n => { released.push(n) }, slack: 1_000 })
    // A 10-byte frame, then 5,000 bytes no frame was read for yet.
    a.send(concat([framed(new Uint8Array(10)), new Uint8Array(5_000)]))
    const frame = await reader.next({ signal: signal() })
    expect(frame).toMatchObject({ ok: false, reason: expect.stringMatching(/bytes sent, over the 1011 this stream may hold/) })
    expect(released).toEqual([10])
    // Bytes that come afterwards are dropped too.
    a.send(new Uint8Array(50_000))
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(await reader.next({ signal: signal() })).toEqual(frame)
  })

  it('null when the other side closes between frames; the signal\'s reason when it aborts first; the error of a reset stream', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, { admit: () => undefined, slack: 64 })
    const waiting = new AbortController()
    const pending = reader.next({ signal: waiting.signal })
    waiting.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
    a.send(framed(Uint8Array.of(1, 2)))
    await a.close()
    expect(await reader.next({ signal: signal() })).toEqual({ ok: true, bytes: Uint8Array.of(1, 2) })
    expect(await reader.next({ signal: signal() })).toBeNull()

    const [c, d] = await streamPair()
    const reset = new FrameReader(d, { admit: () => undefined, slack: 64 })
    const read = reset.next({ signal: signal() })
    c.abort(new Error('gone'))
    await expect(read).rejects.toMatchObject({ name: 'StreamResetError' })
  })
})
