/**
 * Hostile exchanges on a stream protocol, for the protocol tests: frames
 * whose length prefix may lie, and one exchange that writes raw bytes
 * (optionally keeping the stream open), reads one reply frame and decodes it
 * with the protocol's own checks.
 */
import type { Libp2p } from 'libp2p'
import type { PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeFrame } from '../../../src/net/protocols/exchange.ts'
import type { Check } from '../../../src/core/validate.ts'

/** Unsigned varint length prefix + payload (the prefix may lie about the length). */
export function framed (payload: Uint8Array, claimed = payload.length): Uint8Array {
  const varint: number[] = []
  let v = claimed
  while (v >= 0x80) { varint.push((v & 0x7f) | 0x80); v = Math.floor(v / 128) }
  varint.push(v)
  return Uint8Array.from([...varint, ...payload])
}

/** The decoded reply, or why there was none ("no reply: <ErrorName>", or the decoder's reason). */
export async function rawExchange<T> (from: Libp2p, to: PeerId, protocol: string, bytes: Uint8Array, reply: {
  maxBytes: number
  check: Check<T>
  keepOpen?: boolean
}): Promise<T | string> {
  const stream = await from.dialProtocol(to, protocol)
  try {
    stream.send(bytes)
    if (reply.keepOpen !== true) await stream.close()
    const frame = (await lpStream(stream, { maxDataLength: reply.maxBytes }).read({ signal: AbortSignal.timeout(5_000) })).subarray()
    const decoded = decodeFrame(frame, reply.check, reply.maxBytes, 'reply')
    return decoded.ok ? decoded.value : decoded.reason
  } catch (err) {
    return `no reply: ${(err as Error).name}`
  } finally {
    stream.abort(new Error('done'))
  }
}
