/**
 * `/essaim/work/1`: how a volunteer pulls shards from a requester and hands
 * back results (DESIGN.md "Data flow of one job", step 2).
 *
 * One exchange = one stream: the volunteer writes one length-prefixed
 * canonical-CBOR {@link PullRequest} (the results it finished, and how many
 * more shards it can take), half-closes, and reads one {@link PullReply}
 * (new assignments with their input bytes, leases to drop, or "wait"/"done").
 * Results ride on the next pull, so a busy volunteer makes one round trip
 * per shard. Both frames are capped before they are read, and both are
 * checked field by field (unknown fields refused) before any other code sees
 * them. Work never runs over relayed connections.
 */
import { lpStream } from '@libp2p/utils'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { decodeCanonical, encodeCanonical } from '../../core/cbor.ts'
import { MAX_SHARD_BYTES } from '../../core/schemas.ts'
import { BYTE_CAPS } from '../../core/constants.ts'
import { bool, bytes, int, list, nullable, record, str, type Check } from '../../core/validate.ts'
import {
  PROTOCOL_WORK, WORK_MAX_BATCH, WORK_MAX_OUTPUT_BYTES, WORK_MAX_REPLY_BYTES, WORK_MAX_REQUEST_BYTES,
  WORK_MAX_STREAMS_PER_PEER, WORK_SMALL_REQUEST_BYTES, WORK_TIMEOUT_MS
} from '../constants.ts'
import { FRAMING_ERRORS, WorkProtocolError } from '../errors.ts'
import { deadline } from '../deadline.ts'

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

/** Decodes and checks one frame; never throws. */
export function decodeFrame<T> (frame: Uint8Array, check: Check<T>, maxBytes: number, what: string): { ok: true, value: T } | { ok: false, reason: string } {
  const decoded = decodeCanonical(frame, maxBytes)
  if (!decoded.ok) return { ok: false, reason: `${what}: ${decoded.error.message}` }
  const bad = check(decoded.value, what)
  if (bad !== undefined) return { ok: false, reason: bad }
  return { ok: true, value: decoded.value as T }
}

/** What the requester runtime plugs in: answers one pull of `peer`. */
export type PullHandler = (peer: PeerId, request: PullRequest, options: { signal: AbortSignal }) => Promise<PullReply>

export interface WorkInit {
  timeoutMs?: number
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
  private readonly maxStreamsPerPeer: number
  private handler: PullHandler | undefined
  /** Peers with a stream reading a request of up to WORK_MAX_REQUEST_BYTES right now. */
  private readonly largeReads = new Set<string>()
  readonly [Symbol.toStringTag] = 'essaim:work'

  constructor (private readonly components: WorkComponents, init: WorkInit = {}) {
    this.log = components.logger.forComponent('essaim:net:work')
    this.timeoutMs = init.timeoutMs ?? WORK_TIMEOUT_MS
    this.maxStreamsPerPeer = init.maxStreamsPerPeer ?? WORK_MAX_STREAMS_PER_PEER
    this.onStream = this.onStream.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_WORK, this.onStream, {
      maxInboundStreams: this.maxStreamsPerPeer,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_WORK)
  }

  /** Makes this peer a requester: `handler` answers every pull. */
  serve (handler: PullHandler | undefined): void {
    this.handler = handler
  }

  /**
   * One exchange with a requester.
   * @throws {WorkProtocolError} the stream failed, or the reply was malformed or oversized.
   * @throws the signal's reason when aborted.
   */
  async pull (peer: PeerId, request: PullRequest, options: { signal?: AbortSignal } = {}): Promise<PullReply> {
    const limit = options.signal === undefined ? deadline(this.timeoutMs) : undefined
    const signal = options.signal ?? limit!.signal
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, PROTOCOL_WORK, { signal, runOnLimitedConnection: false })
      const lp = lpStream(stream, { maxDataLength: WORK_MAX_REPLY_BYTES })
      await lp.write(encodeCanonical(request), { signal })
      await stream.close({ signal })
      const frame = (await lp.read({ signal })).subarray()
      const reply = decodeFrame(frame, checkPullReply, WORK_MAX_REPLY_BYTES, 'reply')
      if (!reply.ok) throw new WorkProtocolError(peer.toString(), reply.reason)
      return reply.value
    } catch (err) {
      stream?.abort(err as Error)
      if (signal.aborted) throw signal.reason
      if ((err as Error).name === 'WorkProtocolError') throw err
      throw new WorkProtocolError(peer.toString(), (err as Error).message, { cause: err })
    } finally {
      limit?.clear()
    }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const id = peer.toString()
    const limit = deadline(this.timeoutMs)
    const signal = limit.signal
    // Per-peer bound on request bytes held at once: one stream may read a
    // full-size frame (results are large), the others only small ones. An
    // honest volunteer has one pull in flight, so it never meets the bound.
    const large = !this.largeReads.has(id)
    if (large) this.largeReads.add(id)
    const maxBytes = large ? WORK_MAX_REQUEST_BYTES : WORK_SMALL_REQUEST_BYTES
    try {
      const lp = lpStream(stream, { maxDataLength: maxBytes })
      let request: ReturnType<typeof decodeFrame<PullRequest>>
      try {
        const frame = (await lp.read({ signal })).subarray()
        request = decodeFrame(frame, checkPullRequest, maxBytes, 'request')
      } catch (err) {
        // A frame that cannot be read (length over the cap, bad varint, cut
        // short) gets a refusal naming why, rather than a reset stream.
        if (!FRAMING_ERRORS.has((err as Error).name)) throw err
        request = { ok: false, reason: `request: ${(err as Error).message}` }
      } finally {
        if (large) this.largeReads.delete(id)
      }
      let reply: PullReply
      if (!request.ok) {
        this.log('refused a malformed pull from %p: %s', peer, request.reason)
        reply = refusal(request.reason)
      } else if (this.handler === undefined) {
        // Not "done": a requester that is still starting (or reloading) has no handler yet.
        reply = refusal('this peer is not serving jobs right now')
      } else {
        reply = await this.handler(peer, request.value, { signal }).catch(err => refusal(`requester failed: ${(err as Error).message}`))
      }
      await lp.write(encodeCanonical(reply), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log('work stream from %p failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      if (large) this.largeReads.delete(id)
      limit.clear()
    }
  }
}

/** libp2p service factory: `services: { work: work() }`. */
export function work (init: WorkInit = {}): (components: WorkComponents) => WorkService {
  return components => new WorkService(components, init)
}
