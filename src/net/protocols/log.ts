/**
 * `/essaim/log/1.0.0`: how a peer catches up on a requester's receipts it
 * missed (DESIGN.md "Data flow of one job", step 7). Gossip does not replay:
 * a receipt published while an observer had no connection to its requester
 * (the requester's tab reloaded, the observer joined mid-job, a short
 * disconnect) never reaches it. A peer that sees a signed tree head of size
 * N from requester R while holding fewer of R's verdicts asks R directly.
 *
 * One exchange = one stream: the client writes one length-prefixed
 * canonical-CBOR {@link LogRequest} (the leaf indices it lacks, ascending,
 * at most LOG_MAX_PAGE), half-closes, and reads one {@link LogReply}: a
 * receipt per index the requester has under its latest signed head (indices
 * beyond it are left out), or a refusal naming why. Both frames are capped
 * before they are read and checked field by field.
 *
 * A request may instead name a peer's public key and a first leaf: the
 * receipts of the first LOG_MAX_PAGE verdicts at or after that leaf that
 * credit that key. A peer whose ledger is full for a requester (it keeps
 * no more of its receipts, see Ledger.full) cannot say which leaves it
 * lacks, yet must not lose receipts crediting itself: it asks for those.
 *
 * Every receipt returned is checked exactly as a gossiped one is: the outer
 * envelope against the gossip clock limits (a stale or future-dated one is
 * only dropped, as gossip IGNOREs it), then signatures, the head's
 * consistency link and the inclusion proof. It must also be signed by the
 * peer asked and answer an index that was asked, once (or, asked by key,
 * credit that key at or after the leaf asked from). Anything else is a
 * forgery: the whole reply is refused and the peer is penalised like other
 * protocol abuse (graylisted by gossipsub scoring). Consistency with heads
 * already held is the ledger's job: it keeps every validly signed head, so a
 * requester that answers with a head forking its earlier ones is shown as
 * forked rather than hidden.
 *
 * The server bounds its cost: one page per exchange, a few exchanges at once
 * in total, and a per-peer page budget (a small token bucket), because each
 * page may cost it dozens of signatures.
 */
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { bytesEqual } from '../../core/bytes.ts'
import { BYTE_CAPS } from '../../core/constants.ts'
import { openAsync, type Envelope } from '../../core/envelope.ts'
import { verifyOpenedReceipt, type VerifiedReceipt } from '../../core/receipt.ts'
import { HeadCache } from '../../core/tree-head.ts'
import { bytes, int, isPlainObject, list, nullable, record, refine, str, type Check } from '../../core/validate.ts'
import { PUBLIC_KEY_BYTES } from '../../core/identity.ts'
import {
  GOSSIP_MAX_FUTURE_MS, LOG_MAX_AGE_MS, LOG_MAX_PAGE, LOG_MAX_REPLY_BYTES, LOG_MAX_REQUEST_BYTES, LOG_MAX_SERVES_TOTAL,
  LOG_MAX_STREAMS_PER_PEER, LOG_MAX_TRACKED_PEERS, LOG_SERVE_BURST, LOG_SERVE_REFILL_MS, LOG_TIMEOUT_MS, PROTOCOL_LOG
} from '../constants.ts'
import { LogProtocolError, LogRefusedError } from '../errors.ts'
import { publicKeyOf } from '../peer-keys.ts'
import { isTimingRefusal, type PeerPenalties } from '../scoring.ts'
import { replyOnce, requestReply } from './exchange.ts'
import { deadline } from '../deadline.ts'

/** Receipts of these leaves. */
export interface LeavesRequest {
  /** Leaf indices of the server's log, strictly ascending, 1..LOG_MAX_PAGE of them. */
  indices: number[]
}

/** Receipts of the first LOG_MAX_PAGE verdicts at leaf `from` or later that credit `credited`. */
export interface CreditedRequest {
  /** A peer's Ed25519 public key. */
  credited: Uint8Array
  from: number
}

export type LogRequest = LeavesRequest | CreditedRequest

export interface LogReply {
  /** One `receipt` envelope per asked index the server can prove, in any order. */
  receipts: Uint8Array[]
  /** Why the request was refused, if it was. */
  error: string | null
}

/** A receipt that arrived over catch-up and verified, with its bytes. */
export interface CaughtUpReceipt {
  bytes: Uint8Array
  receipt: VerifiedReceipt
}

const leafIndex = int(0, Number.MAX_SAFE_INTEGER)

const checkLeavesRequest: Check<LeavesRequest> = refine(
  record<LeavesRequest>({ indices: list(leafIndex, LOG_MAX_PAGE) }),
  (v, path) => {
    if (v.indices.length === 0) return `${path}.indices: empty`
    for (let i = 1; i < v.indices.length; i++) if (v.indices[i]! <= v.indices[i - 1]!) return `${path}.indices: not strictly ascending`
    return undefined
  }
)

const checkCreditedRequest: Check<CreditedRequest> = record<CreditedRequest>({ credited: bytes(PUBLIC_KEY_BYTES), from: leafIndex })

/** A request names leaves or a credited key (the field `credited` tells which). */
export const checkLogRequest: Check<LogRequest> = (v, path) =>
  isPlainObject(v) && Object.hasOwn(v, 'credited') ? checkCreditedRequest(v, path) : checkLeavesRequest(v, path)

export const checkLogReply: Check<LogReply> = record<LogReply>({
  receipts: list(bytes({ max: BYTE_CAPS.receipt }), LOG_MAX_PAGE),
  error: nullable(str({ max: 512 }))
})

/** A reply that refuses a request, with the reason. */
export function logRefusal (error: string): LogReply {
  return { receipts: [], error }
}

/**
 * Checks the receipts of a reply from `requester` (its public key) to
 * `request`, signatures on native Ed25519 (openAsync). Never rejects.
 * Receipts refused only for their signed time are dropped (`stale` counts
 * them); any other failure refuses the whole reply with the reason.
 */
export async function verifyLogReply (requester: Uint8Array, request: LogRequest, receipts: readonly Uint8Array[], options: { now?: number } = {}):
Promise<{ ok: true, receipts: CaughtUpReceipt[], stale: number } | { ok: false, reason: string }> {
  const most = 'indices' in request ? request.indices.length : LOG_MAX_PAGE
  if (receipts.length > most) return { ok: false, reason: `${receipts.length} receipts for a request of at most ${most}` }
  const asked = 'indices' in request ? new Set(request.indices) : undefined
  /** Why a receipt does not answer the request, if it does not. */
  const unasked = (v: VerifiedReceipt): string | undefined => {
    if (asked !== undefined) return asked.has(v.index) ? undefined : `is for leaf ${v.index}, which was not asked for`
    const { credited, from } = request as CreditedRequest
    if (v.index < from) return `is for leaf ${v.index}, before leaf ${from} asked from`
    return v.verdict.body.credited.some(k => bytesEqual(k, credited)) ? undefined : 'does not credit the key asked for'
  }
  const answered = new Set<number>()
  const cache = new HeadCache()
  const now = options.now ?? Date.now()
  const out: CaughtUpReceipt[] = []
  let stale = 0
  for (const [i, bytes] of receipts.entries()) {
    // The gossip validator's check first, so the same clock limits apply (signedTopic's checkSignedMessage).
    const outer = await openAsync(bytes, { kinds: ['receipt'], now, maxAgeMs: LOG_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS })
    if (!outer.ok) {
      const reason = `${outer.error.name}: ${outer.error.message}`
      if (isTimingRefusal(reason)) { stale++; continue }
      return { ok: false, reason: `receipt ${i}: ${reason}` }
    }
    const v = verifyOpenedReceipt(outer.envelope as Envelope<'receipt'>, { cache })
    if (!v.ok) return { ok: false, reason: `receipt ${i}: ${v.reason}` }
    if (!bytesEqual(v.requester, requester)) return { ok: false, reason: `receipt ${i} is signed by another requester than the peer asked` }
    const wrong = unasked(v)
    if (wrong !== undefined) return { ok: false, reason: `receipt ${i} ${wrong}` }
    if (answered.has(v.index)) return { ok: false, reason: `leaf ${v.index} answered twice` }
    answered.add(v.index)
    out.push({ bytes, receipt: v })
  }
  return { ok: true, receipts: out, stale }
}

/** What a requester plugs in: receipts answering the request that it can prove now (at most LOG_MAX_PAGE; one per asked leaf). */
export type LogHandler = (peer: PeerId, request: LogRequest, options: { signal: AbortSignal }) => Promise<Uint8Array[]>

export interface LogInit {
  timeoutMs?: number
  maxStreamsPerPeer?: number
  maxServesTotal?: number
  /** Per-peer page budget: a burst of this many, then one per `refillMs`. */
  burst?: number
  refillMs?: number
  maxTrackedPeers?: number
  /** Told about peers whose replies are forged, so gossipsub scoring graylists them. */
  penalties?: PeerPenalties
  now?: () => number
}

export interface LogComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export class LogService implements Startable {
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly maxStreamsPerPeer: number
  private readonly maxServesTotal: number
  private readonly burst: number
  private readonly refillMs: number
  private readonly maxTrackedPeers: number
  private readonly penalties?: PeerPenalties
  private readonly now: () => number
  private handler: LogHandler | undefined
  /** Page budget per peer: tokens left at time `at`. Oldest entry forgotten beyond maxTrackedPeers. */
  private readonly budgets = new Map<string, { tokens: number, at: number }>()
  private servingTotal = 0
  readonly [Symbol.toStringTag] = 'essaim:log'

  constructor (private readonly components: LogComponents, init: LogInit = {}) {
    this.log = components.logger.forComponent('essaim:net:log')
    this.timeoutMs = init.timeoutMs ?? LOG_TIMEOUT_MS
    this.maxStreamsPerPeer = init.maxStreamsPerPeer ?? LOG_MAX_STREAMS_PER_PEER
    this.maxServesTotal = init.maxServesTotal ?? LOG_MAX_SERVES_TOTAL
    this.burst = init.burst ?? LOG_SERVE_BURST
    this.refillMs = init.refillMs ?? LOG_SERVE_REFILL_MS
    this.maxTrackedPeers = init.maxTrackedPeers ?? LOG_MAX_TRACKED_PEERS
    this.penalties = init.penalties
    this.now = init.now ?? Date.now
    this.onStream = this.onStream.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_LOG, this.onStream, {
      maxInboundStreams: this.maxStreamsPerPeer,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_LOG)
  }

  /** Makes this peer serve its log: `handler` answers every catch-up request. */
  serve (handler: LogHandler | undefined): void {
    this.handler = handler
  }

  /**
   * Asks `peer` for receipts of the leaves `indices` of its log, and
   * verifies them (see the file header).
   * @returns the receipts that verified, possibly fewer than asked (the peer's head may be smaller).
   * @throws {RangeError} if `indices` is empty, longer than LOG_MAX_PAGE or not strictly ascending.
   * @throws {LogRefusedError} the peer declined (busy, asked too often, keeps no log).
   * @throws {LogProtocolError} the stream failed, or the reply was malformed, oversized or forged (the peer is penalised for forgeries).
   * @throws the signal's reason when aborted, or a TimeoutError after the service's timeout.
   */
  async fetchReceipts (peer: PeerId, indices: number[], options: { signal?: AbortSignal } = {}): Promise<CaughtUpReceipt[]> {
    return await this.exchange(peer, { indices }, options)
  }

  /**
   * Asks `peer` for the receipts of the first LOG_MAX_PAGE verdicts of its
   * log at leaf `from` or later that credit `credited` (a public key), and
   * verifies them; as {@link fetchReceipts} otherwise. Fewer than
   * LOG_MAX_PAGE: there are no more under the peer's latest head. So none
   * may be left out: a receipt refused for its signed time (clocks apart)
   * fails the whole page with a LogProtocolError, without penalty.
   */
  async fetchCredited (peer: PeerId, credited: Uint8Array, from: number, options: { signal?: AbortSignal } = {}): Promise<CaughtUpReceipt[]> {
    return await this.exchange(peer, { credited, from }, options)
  }

  private async exchange (peer: PeerId, request: LogRequest, options: { signal?: AbortSignal }): Promise<CaughtUpReceipt[]> {
    const bad = checkLogRequest(request, 'request')
    if (bad !== undefined) throw new RangeError(bad)
    const remote = peer.toString()
    const key = publicKeyOf(remote)
    if (key === undefined) throw new LogProtocolError(remote, 'not an Ed25519 peer: it cannot sign a log')
    const reply = await requestReply(this.components.connectionManager, peer, PROTOCOL_LOG, request, {
      maxReplyBytes: LOG_MAX_REPLY_BYTES,
      check: checkLogReply,
      signal: options.signal,
      timeoutMs: this.timeoutMs,
      protocolError: (reason, o) => new LogProtocolError(remote, reason, o)
    })
    if (reply.error !== null) throw new LogRefusedError(remote, reply.error)
    const checked = await verifyLogReply(key, request, reply.receipts, { now: this.now() })
    if (!checked.ok) {
      this.log('refused a forged log reply from %p: %s', peer, checked.reason)
      this.penalties?.fault(remote, 'forged-log')
      throw new LogProtocolError(remote, checked.reason)
    }
    if (checked.stale > 0) {
      this.log('dropped %d receipts from %p for their signed time', checked.stale, peer)
      if ('credited' in request) throw new LogProtocolError(remote, `${checked.stale} of the receipts were refused for their signed time (is a clock wrong?)`)
    }
    return checked.receipts
  }

  /** Takes one page from `peer`'s budget; false when it has none left. */
  private spend (peer: string): boolean {
    const now = this.now()
    let b = this.budgets.get(peer)
    if (b === undefined) {
      if (this.budgets.size >= this.maxTrackedPeers) this.budgets.delete(this.budgets.keys().next().value!)
      b = { tokens: this.burst, at: now }
    } else {
      this.budgets.delete(peer) // re-inserted below: the map stays in least-recently-used order
      b = { tokens: Math.min(this.burst, b.tokens + (now - b.at) / this.refillMs), at: now }
    }
    const ok = b.tokens >= 1
    if (ok) b.tokens -= 1
    this.budgets.set(peer, b)
    return ok
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const limit = deadline(this.timeoutMs)
    const signal = limit.signal
    let serving = false
    try {
      await replyOnce(stream, {
        maxRequestBytes: LOG_MAX_REQUEST_BYTES,
        check: checkLogRequest,
        signal,
        answer: async (request): Promise<LogReply> => {
          if (!request.ok) {
            this.log('refused a malformed log request from %p: %s', peer, request.reason)
            return logRefusal(request.reason)
          }
          if (this.handler === undefined) return logRefusal('this peer is not serving a log right now')
          if (this.servingTotal >= this.maxServesTotal) return logRefusal('busy serving other peers; try later')
          if (!this.spend(peer.toString())) return logRefusal('asked too often; try later')
          serving = true
          this.servingTotal++
          const most = 'indices' in request.value ? request.value.indices.length : LOG_MAX_PAGE
          return await this.handler(peer, request.value, { signal }).then(
            receipts => ({ receipts: receipts.slice(0, most), error: null }),
            err => logRefusal(`the log failed to answer: ${(err as Error).message}`.slice(0, 512))
          )
        }
      })
    } catch (err) {
      this.log('log stream from %p failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      if (serving) this.servingTotal--
      limit.clear()
    }
  }
}

/** libp2p service factory: `services: { log: logService() }`. */
export function logService (init: LogInit = {}): (components: LogComponents) => LogService {
  return components => new LogService(components, init)
}
