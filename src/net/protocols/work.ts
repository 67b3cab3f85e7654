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
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_SHARD_BYTES } from '../../core/schemas.ts'
import { BYTE_CAPS } from '../../core/constants.ts'
import { bool, bytes, int, list, nullable, record, str, type Check } from '../../core/validate.ts'
import {
  PROTOCOL_WORK, WORK_MAX_BATCH, WORK_MAX_OUTPUT_BYTES, WORK_MAX_REPLY_BYTES, WORK_MAX_REQUEST_BYTES,
  WORK_MAX_STREAMS_PER_PEER, WORK_SMALL_REQUEST_BYTES, WORK_TIMEOUT_MS
} from '../constants.ts'
import { WorkProtocolError } from '../errors.ts'
import { deadline } from '../deadline.ts'
import { replyOnce, requestReply } from './exchange.ts'

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
   * @throws the signal's reason when aborted, or a TimeoutError after the service's timeout.
   */
  async pull (peer: PeerId, request: PullRequest, options: { signal?: AbortSignal } = {}): Promise<PullReply> {
    return await requestReply(this.components.connectionManager, peer, PROTOCOL_WORK, request, {
      maxReplyBytes: WORK_MAX_REPLY_BYTES,
      check: checkPullReply,
      signal: options.signal,
      timeoutMs: this.timeoutMs,
      protocolError: (reason, o) => new WorkProtocolError(peer.toString(), reason, o)
    })
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const id = peer.toString()
    const limit = deadline(this.timeoutMs)
    const signal = limit.signal
    // Per-peer bound on request bytes held at once: one stream may read a
    // full-size frame (results are large), the others only small ones. An
    // honest volunteer has one pull in flight, so it never meets the bound.
    let large = !this.largeReads.has(id)
    if (large) this.largeReads.add(id)
    const maxBytes = large ? WORK_MAX_REQUEST_BYTES : WORK_SMALL_REQUEST_BYTES
    // Released once the request is read (or the stream failed); released only once, so a later
    // stream's large read is never released by this one.
    const readDone = (): void => { if (large) { this.largeReads.delete(id); large = false } }
    try {
      await replyOnce(stream, {
        maxRequestBytes: maxBytes,
        check: checkPullRequest,
        signal,
        answer: async request => {
          readDone()
          if (!request.ok) {
            this.log('refused a malformed pull from %p: %s', peer, request.reason)
            return refusal(request.reason)
          }
          // Not "done": a requester that is still starting (or reloading) has no handler yet.
          if (this.handler === undefined) return refusal('this peer is not serving jobs right now')
          return await this.handler(peer, request.value, { signal }).catch(err => refusal(`requester failed: ${(err as Error).message}`))
        }
      })
    } catch (err) {
      this.log('work stream from %p failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      readDone()
      limit.clear()
    }
  }
}

/** libp2p service factory: `services: { work: work() }`. */
export function work (init: WorkInit = {}): (components: WorkComponents) => WorkService {
  return components => new WorkService(components, init)
}
