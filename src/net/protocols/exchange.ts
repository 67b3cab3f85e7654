/**
 * One request frame, one reply frame on a stream of its own: the shape of
 * the log protocol (length-prefixed deterministic CBOR, each frame checked
 * against its schema and capped in bytes). Both sides of such an exchange,
 * written once: the client opens a stream, writes, half-closes and reads one
 * reply; the server reads one request (a frame it cannot read is answered
 * with a refusal naming why, rather than a reset stream), answers and
 * closes. The work protocol carries many exchanges per stream
 * (./work.ts, ./frames.ts) and shares only {@link decodeFrame}.
 */
import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { decodeCanonical, encodeCanonical } from '../../core/cbor.ts'
import type { Check } from '../../core/validate.ts'
import { FRAMING_ERRORS } from '../errors.ts'
import { errorInfo } from '../../core/errors.ts'
import { deadline } from '../deadline.ts'

export type Decoded<T> = { ok: true, value: T } | { ok: false, reason: string }

/** Decodes and checks one frame; never throws. */
export function decodeFrame<T> (frame: Uint8Array, check: Check<T>, maxBytes: number, what: string): Decoded<T> {
  const decoded = decodeCanonical(frame, maxBytes)
  if (!decoded.ok) return { ok: false, reason: `${what}: ${decoded.error.message}` }
  const bad = check(decoded.value, what)
  if (bad !== undefined) return { ok: false, reason: bad }
  return { ok: true, value: decoded.value as T }
}

export interface RequestOptions<Rep> {
  maxReplyBytes: number
  check: Check<Rep>
  /** The caller's signal (e.g. the volunteer stopping); the exchange also ends after `timeoutMs`. */
  signal?: AbortSignal
  timeoutMs: number
  /** The protocol's error for a failed stream or a malformed reply. */
  protocolError: (reason: string, options?: ErrorOptions) => Error
}

/**
 * Sends `request` to `peer` on `protocol` and returns its checked reply.
 * @throws the signal's reason when aborted (a TimeoutError when `timeoutMs` ran out).
 * @throws `protocolError(…)` when the stream failed or the reply was malformed or oversized.
 */
export async function requestReply<Rep> (connectionManager: ConnectionManager, peer: PeerId, protocol: string, request: unknown, o: RequestOptions<Rep>): Promise<Rep> {
  const limit = deadline(o.timeoutMs)
  const signal = o.signal === undefined ? limit.signal : AbortSignal.any([o.signal, limit.signal])
  let stream: Stream | undefined
  let frame: Uint8Array
  try {
    stream = await connectionManager.openStream(peer, protocol, { signal, runOnLimitedConnection: false })
    const lp = framedStream(stream, o.maxReplyBytes)
    await lp.write(encodeCanonical(request), { signal })
    await stream.close({ signal })
    frame = (await lp.read({ signal })).subarray()
  } catch (err) {
    stream?.abort(err as Error)
    if (signal.aborted) throw signal.reason
    // Not always an Error (a data channel's error event): never "undefined" as the reason.
    throw o.protocolError(errorInfo(err).message, { cause: err })
  } finally {
    limit.clear()
  }
  const reply = decodeFrame(frame, o.check, o.maxReplyBytes, 'reply')
  if (!reply.ok) {
    const error = o.protocolError(reply.reason)
    stream.abort(error)
    throw error
  }
  return reply.value
}

/**
 * Length-prefixed frames of up to `maxBytes` on `stream`. lpStream reads
 * through a byte buffer capped at 4 MiB unless told otherwise, and aborts
 * the stream when a frame outgrows it (a page of receipts may be larger;
 * work pulls over 4 MiB were cut off this way when they ran here). The
 * buffer holds one frame and its length prefix; it never shrinks
 * below lpStream's default, so a frame over a small cap still arrives far
 * enough for its length to be read and refused with a reason.
 */
function framedStream (stream: Stream, maxBytes: number): ReturnType<typeof lpStream> {
  return lpStream(stream, { maxDataLength: maxBytes, maxBufferSize: Math.max(LP_DEFAULT_BUFFER_BYTES, maxBytes + MAX_LENGTH_PREFIX_BYTES) })
}

/** lpStream's own read buffer cap (@libp2p/utils byteStream). */
const LP_DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024
/** Bytes of the longest varint length prefix (a 64-bit length). */
const MAX_LENGTH_PREFIX_BYTES = 10

/**
 * Serves one exchange on an inbound `stream`: reads a request of at most
 * `maxRequestBytes`, hands it (or why it was refused) to `answer`, writes
 * the reply and closes. Throws what the stream throws (the caller logs it
 * and aborts the stream).
 */
export async function replyOnce<Req, Rep> (stream: Stream, o: {
  maxRequestBytes: number
  check: Check<Req>
  signal: AbortSignal
  answer: (request: Decoded<Req>) => Promise<Rep>
}): Promise<void> {
  const lp = framedStream(stream, o.maxRequestBytes)
  let request: Decoded<Req>
  try {
    const frame = (await lp.read({ signal: o.signal })).subarray()
    request = decodeFrame(frame, o.check, o.maxRequestBytes, 'request')
  } catch (err) {
    // A frame that cannot be read (length over the cap, bad varint, cut
    // short) gets a refusal naming why, rather than a reset stream.
    if (!FRAMING_ERRORS.has((err as Error).name)) throw err
    request = { ok: false, reason: `request: ${(err as Error).message}` }
  }
  const reply = await o.answer(request)
  await lp.write(encodeCanonical(reply), { signal: o.signal })
  await stream.close({ signal: o.signal })
}
