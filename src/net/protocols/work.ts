/**
 * `/essaim/work/1`: how a volunteer pulls shards from a requester and hands
 * back results (DESIGN.md "Data flow of one job", step 2).
 *
 * One exchange = one request frame and one reply frame: the volunteer writes
 * one length-prefixed canonical-CBOR {@link PullRequest} (the results it
 * finished, and how many more shards it can take) and reads one
 * {@link PullReply} (new assignments with their input bytes, leases to drop,
 * or "wait"/"done"). A stream carries exchange after exchange while the
 * volunteer keeps pulling (src/net/protocols/stream-pool.ts), one at a time;
 * several streams carry the pulls a volunteer has in flight at once.
 * Results ride on the next pull, so a busy volunteer makes one round trip
 * per shard. Both frames are capped before they are read, and both are
 * checked field by field (unknown fields refused) before any other code sees
 * them. Work never runs over relayed connections.
 */
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_SHARD_BYTES } from '../../core/schemas.ts'
import { BYTE_CAPS } from '../../core/constants.ts'
import { bool, bytes, int, list, nullable, record, str, type Check } from '../../core/validate.ts'
import {
  PROTOCOL_WORK, WORK_MAX_BATCH, WORK_MAX_OUTPUT_BYTES, WORK_MAX_REPLY_BYTES, WORK_MAX_REQUEST_BYTES,
  WORK_MAX_STREAMS_PER_PEER, WORK_SMALL_REQUEST_BYTES, WORK_STREAM_IDLE_MS, WORK_STREAM_KEEP_MS, WORK_TIMEOUT_MS
} from '../constants.ts'
import { WorkProtocolError } from '../errors.ts'
import { deadline, sleep } from '../deadline.ts'
import { encodeCanonical } from '../../core/cbor.ts'
import { toHex } from '../../core/bytes.ts'
import { errorInfo } from '../../core/errors.ts'
import { decodeFrame, type Decoded } from './exchange.ts'
import { FrameReader, writeFrame, type Frame } from './frames.ts'
import { StreamPool, type Channel } from './stream-pool.ts'

/** A finished shard: its output and the volunteer's signed attestation, or why it failed. */
export interface ShardResult {
  lease: number
  /** `encodeTensors` bytes of the outputs; null when `error` is set. */
  output: Uint8Array | null
  /** The `attestation` envelope over this output; null when `error` is set. */
  attestation: Uint8Array | null
  /** Why the volunteer could not compute the shard (e.g. `InputShapeError: …`). */
  error: string | null
}

export interface PullRequest {
  /** The job's id (sha256 of its manifest envelope). */
  job: Uint8Array
  /** How many more shards the volunteer can take now (0 = only handing in results). */
  capacity: number
  results: ShardResult[]
}

export interface Assignment {
  lease: number
  shard: number
  /** `encodeTensors` bytes of the shard's input; the volunteer checks it hashes to the manifest's inputHash. */
  input: Uint8Array
}

export interface PullReply {
  assignments: Assignment[]
  /** Leases whose results were received (checked later; the verdict comes as a receipt). */
  received: number[]
  /** Leases the volunteer should stop working on (reassigned, or the shard is settled). */
  cancel: number[]
  /** When there is nothing to do yet: ask again after this long. */
  waitMs: number
  /** The job is finished (or unknown): stop pulling it. */
  done: boolean
  /** Why the request was refused, if it was. */
  error: string | null
}

const lease = int(0, Number.MAX_SAFE_INTEGER)
const reason = str({ max: 512 })

const shardResult: Check<ShardResult> = record<ShardResult>({
  lease,
  output: nullable(bytes({ max: WORK_MAX_OUTPUT_BYTES })),
  attestation: nullable(bytes({ max: BYTE_CAPS.attestation })),
  error: nullable(reason)
})

export const checkPullRequest: Check<PullRequest> = record<PullRequest>({
  job: bytes(32),
  capacity: int(0, WORK_MAX_BATCH),
  results: list(shardResult, WORK_MAX_BATCH)
})

export const checkPullReply: Check<PullReply> = record<PullReply>({
  assignments: list(record<Assignment>({ lease, shard: int(0, 1 << 20), input: bytes({ max: MAX_SHARD_BYTES }) }), WORK_MAX_BATCH),
  received: list(lease, WORK_MAX_BATCH),
  cancel: list(lease, 256),
  waitMs: int(0, 60_000),
  done: bool(),
  error: nullable(reason)
})

/** What the requester runtime plugs in: answers one pull of `peer`. */
export type PullHandler = (peer: PeerId, request: PullRequest, options: { signal: AbortSignal }) => Promise<PullReply>

export interface WorkInit {
  /** Deadline of one exchange (and of a stream's first request). */
  timeoutMs?: number
  /** A volunteer's stream silent this long between requests is closed by the requester. */
  idleMs?: number
  /** A volunteer closes a stream it has not used for this long (well before the requester's `idleMs`). */
  keepMs?: number
  /** Work streams one peer may have open to us at once; also the most we keep resting to one requester. */
  maxStreamsPerPeer?: number
}

export interface WorkComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/** A reply that refuses a request, with the reason. */
export function refusal (error: string): PullReply {
  return { assignments: [], received: [], cancel: [], waitMs: 2_000, done: false, error }
}

export class WorkService implements Startable {
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly idleMs: number
  private readonly maxStreamsPerPeer: number
  private handler: PullHandler | undefined
  /** Peers with a stream reading a request of up to WORK_MAX_REQUEST_BYTES right now. */
  private readonly largeReads = new Set<string>()
  /** Our streams to requesters, resting between pulls. */
  private readonly pool: StreamPool
  readonly [Symbol.toStringTag] = 'essaim:work'

  constructor (private readonly components: WorkComponents, init: WorkInit = {}) {
    this.log = components.logger.forComponent('essaim:net:work')
    this.timeoutMs = init.timeoutMs ?? WORK_TIMEOUT_MS
    this.idleMs = init.idleMs ?? WORK_STREAM_IDLE_MS
    this.maxStreamsPerPeer = init.maxStreamsPerPeer ?? WORK_MAX_STREAMS_PER_PEER
    this.pool = new StreamPool({ keepMs: init.keepMs ?? WORK_STREAM_KEEP_MS, maxPerPeer: this.maxStreamsPerPeer })
    this.onStream = this.onStream.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_WORK, this.onStream, {
      maxInboundStreams: this.maxStreamsPerPeer,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    this.pool.clear()
    await this.components.registrar.unhandle(PROTOCOL_WORK)
  }

  /** Makes this peer a requester: `handler` answers every pull. */
  serve (handler: PullHandler | undefined): void {
    this.handler = handler
  }

  /** Our streams to `peer` resting between pulls. */
  resting (peer: PeerId): number {
    return this.pool.size(peer.toString())
  }

  /**
   * One exchange with a requester, on a stream kept from an earlier one when
   * there is one.
   * @throws {WorkProtocolError} the stream failed, or the reply was malformed or oversized.
   * @throws the signal's reason when aborted, or a TimeoutError after the service's timeout.
   */
  async pull (peer: PeerId, request: PullRequest, options: { signal?: AbortSignal } = {}): Promise<PullReply> {
    const id = peer.toString()
    const limit = deadline(this.timeoutMs)
    const signal = options.signal === undefined ? limit.signal : AbortSignal.any([options.signal, limit.signal])
    const failed = (reason: string, o?: ErrorOptions): WorkProtocolError => new WorkProtocolError(id, reason, o)
    try {
      for (;;) {
        const kept = this.pool.take(id)
        let channel: Channel | undefined = kept
        let frame: Frame | null
        try {
          if (channel === undefined) {
            const stream = await this.components.connectionManager.openStream(peer, PROTOCOL_WORK, { signal, runOnLimitedConnection: false })
            channel = { stream, reader: new FrameReader(stream, { admit: replyAdmission, slack: WORK_SMALL_REQUEST_BYTES }) }
          }
          await writeFrame(channel.stream, encodeCanonical(request), { signal })
          frame = await channel.reader.next({ signal })
        } catch (err) {
          channel?.reader.stop()
          channel?.stream.abort(err as Error)
          if (signal.aborted) throw signal.reason
          // Not always an Error (a data channel's error event): never "undefined" as the reason.
          throw failed(errorInfo(err).message, { cause: err })
        }
        if (frame === null && kept !== undefined) {
          // The requester closed this kept stream as we reused it (it had been
          // idle too long): it read nothing of ours, so ask on a new stream.
          this.log('%s closed a kept work stream as we reused it: asking on a new one', id)
          this.discard(channel)
          continue
        }
        const reply = frame === null
          ? { ok: false as const, reason: 'reply: the stream ended without one' }
          : frame.ok ? decodeFrame(frame.bytes, checkPullReply, WORK_MAX_REPLY_BYTES, 'reply') : { ok: false as const, reason: `reply: ${frame.reason}` }
        if (!reply.ok) {
          const error = failed(reply.reason)
          this.discard(channel, error)
          throw error
        }
        this.pool.put(id, channel)
        return reply.value
      }
    } finally {
      limit.clear()
    }
  }

  /** Aborts a stream out of step with `error` (its last reply unreadable), or, without one, closes a stream the other side ended. */
  private discard (channel: Channel, error?: Error): void {
    channel.reader.stop()
    if (error !== undefined) channel.stream.abort(error)
    else channel.stream.close().catch((err: Error) => { channel.stream.abort(err) })
  }

  /**
   * Serves a volunteer's stream for as long as it pulls: request, reply,
   * and again, until the volunteer closes its end, stays silent for
   * `idleMs` between requests, or sends a frame that cannot be read (which
   * gets a refusal naming why, and ends the stream: it is out of step).
   */
  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const id = peer.toString()
    // Per-peer bound on request bytes held at once: a frame over
    // WORK_SMALL_REQUEST_BYTES is read only while no other stream of the
    // peer reads one (results are large, a flood of them is not). An honest
    // volunteer hands in large results one pull at a time, so it never meets
    // the bound.
    const reader = new FrameReader(stream, {
      slack: WORK_SMALL_REQUEST_BYTES,
      admit: length => {
        if (length > WORK_MAX_REQUEST_BYTES) return `frame too long: ${length} bytes, at most ${WORK_MAX_REQUEST_BYTES}`
        if (length <= WORK_SMALL_REQUEST_BYTES) return undefined
        if (this.largeReads.has(id)) return `frame too long: ${length} bytes while another stream of this peer reads a large one, at most ${WORK_SMALL_REQUEST_BYTES}`
        this.largeReads.add(id)
        return undefined
      },
      release: length => { if (length > WORK_SMALL_REQUEST_BYTES) this.largeReads.delete(id) }
    })
    let served = 0
    // A pull that hands nothing in and is answered with nothing ("ask again
    // after waitMs"), twice in a row for the same job on this stream within
    // waitMs: the next such pull waits out the rest of waitMs before it is
    // answered. An honest volunteer never gets there: after one such answer
    // it leaves the job for waitMs, or (holding shards) asks again only with
    // results to hand in. A pull flood that ignores waitMs is slowed to one
    // answer per waitMs a stream, which costs the requester a timer, not an
    // answer.
    let quiet: { job: string, until: number, strikes: number } | undefined
    try {
      for (;;) {
        const wait = deadline(served === 0 ? this.timeoutMs : this.idleMs)
        let frame: Frame | null
        try {
          frame = await reader.next({ signal: wait.signal })
        } catch (err) {
          // Silent between requests for too long: close our end (a stream
          // stalled inside a frame is aborted instead).
          if (wait.signal.aborted && served > 0 && reader.idle) break
          throw err
        } finally {
          wait.clear()
        }
        if (frame === null && served > 0) break
        const request: Decoded<PullRequest> = frame === null
          ? { ok: false, reason: 'request: the stream ended before one' }
          : frame.ok ? decodeFrame(frame.bytes, checkPullRequest, WORK_MAX_REQUEST_BYTES, 'request') : { ok: false, reason: `request: ${frame.reason}` }
        const limit = deadline(this.timeoutMs)
        try {
          const job = request.ok && request.value.results.length === 0 ? toHex(request.value.job) : undefined
          const streak = quiet !== undefined && quiet.job === job && Date.now() < quiet.until ? quiet : undefined
          if (streak !== undefined && streak.strikes >= QUIET_AFTER) await sleep(streak.until - Date.now(), limit.signal)
          const reply = await this.answer(peer, request, limit.signal)
          const empty = reply.assignments.length === 0 && !reply.done && reply.waitMs > 0
          quiet = empty && job !== undefined ? { job, until: Date.now() + reply.waitMs, strikes: (streak?.strikes ?? 0) + 1 } : undefined
          await writeFrame(stream, encodeCanonical(reply), { signal: limit.signal })
        } finally {
          limit.clear()
        }
        served++
        if (frame === null || !frame.ok) break
      }
      reader.stop()
      const closing = deadline(this.timeoutMs)
      try { await stream.close({ signal: closing.signal }) } finally { closing.clear() }
    } catch (err) {
      this.log('work stream from %p failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      reader.stop()
    }
  }

  private async answer (peer: PeerId, request: Decoded<PullRequest>, signal: AbortSignal): Promise<PullReply> {
    if (!request.ok) {
      this.log('refused a malformed pull from %p: %s', peer, request.reason)
      return refusal(request.reason)
    }
    // Not "done": a requester that is still starting (or reloading) has no handler yet.
    if (this.handler === undefined) return refusal('this peer is not serving jobs right now')
    return await this.handler(peer, request.value, { signal }).catch(err => refusal(`requester failed: ${(err as Error).message}`))
  }
}

/** Empty-handed pulls answered with nothing, in a row within waitMs, after which the next one waits (see onStream). */
const QUIET_AFTER = 2

/** A pull reply's frame is read up to the reply cap. */
function replyAdmission (length: number): string | undefined {
  return length > WORK_MAX_REPLY_BYTES ? `frame too long: ${length} bytes, at most ${WORK_MAX_REPLY_BYTES}` : undefined
}

/** libp2p service factory: `services: { work: work() }`. */
export function work (init: WorkInit = {}): (components: WorkComponents) => WorkService {
  return components => new WorkService(components, init)
}
