/**
 * Gossipsub peer scoring for Essaim's topics (gossipsub v1.1 spec, "Peer
 * Scoring"; parameter names and semantics from @libp2p/gossipsub's
 * score/compute-score.js and score/peer-score-params.js).
 *
 * What lowers a peer's score here, and nothing else:
 * - P4, invalid messages: every message our topic validators REJECT counts
 *   against the peer that delivered it, squared and weighted by
 *   {@link INVALID_MESSAGE_WEIGHT}, decaying with a half-life of about a
 *   minute. Three rejects in a short while put a peer below the graylist
 *   threshold: from then on gossipsub drops everything it sends before any
 *   validator runs, until the count has decayed. Honest peers only forward
 *   what they validated, so they never accumulate P4.
 * - P5, application score: peers our requester caught lying (failed canary),
 *   that served model bytes not matching their hash, or answered a log
 *   catch-up with receipts that do not verify are graylisted;
 *   peers outvoted on a shard lose a little per outvoted answer (honest
 *   peers on another provider can disagree now and then, so it is capped
 *   above the graylist threshold). Kept in a bounded {@link PeerPenalties}.
 * - P7, broken IWANT promises and GRAFT floods: gossipsub's defaults.
 *
 * Messages refused only for their signed time (stale, or dated ahead) or
 * their sequence number (replayed, or older than one already seen) are
 * IGNOREd, not REJECTed: an honest peer with a skewed clock sends them, an
 * honest relay forwards what its own clock accepted, and gossip over several
 * paths delivers a peer's messages out of order, so an honest relay often
 * hands us a sequence number older than one we already have. (Scoring those
 * graylisted honest requesters in the e2e suite.) Everything else a
 * validator refuses (bad signature, wrong kind, malformed, oversized,
 * someone else's envelope) can only come from a faulty or hostile
 * publisher, so it is REJECTed and scored.
 *
 * Every positive or "quiet peer" component (time in mesh, first deliveries,
 * mesh delivery deficit, mesh failure) is 0: a volunteer that just joined,
 * or has nothing to say on a topic, scores exactly 0, never below it. IP
 * colocation is 0 too: browsers reach each other over WebRTC from behind
 * home, campus and carrier NATs, so many honest peers share one address.
 */
import { TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import { TOPIC_ATTEST, TOPIC_JOBS, TOPIC_LOG, TOPIC_PRESENCE } from './constants.ts'

/** Topics whose validators REJECT hostile messages, and so are scored. */
export const SCORED_TOPICS = [TOPIC_PRESENCE, TOPIC_JOBS, TOPIC_ATTEST, TOPIC_LOG] as const

/** Weight of the squared count of invalid messages a peer delivered on one topic (P4). */
export const INVALID_MESSAGE_WEIGHT = -10
/** P4 counter decay per `decayInterval` (1 s): a half-life of ln 2 / 0.01 ≈ 69 s. */
export const INVALID_MESSAGE_DECAY = 0.99

/**
 * Score thresholds (gossipsub's defaults, restated so the arithmetic above
 * can be checked against them): below `gossip` no IHAVE/IWANT gossip is
 * exchanged with the peer, below `publish` our own messages are not sent to
 * it, below `graylist` every RPC from it is dropped unread.
 */
export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

/** Application scores (P5, before gossipsub's `appSpecificWeight` of 10). */
export const APP_SCORE_FAULTY = -10
export const APP_SCORE_PER_OUTVOTE = -1
/** Outvoted answers counted at most: −5 × 10 = −50, above the graylist threshold. */
export const MAX_OUTVOTES_COUNTED = 5
/** Peers the penalty table remembers; beyond it the oldest entry is forgotten. */
export const MAX_PENALISED_PEERS = 4096

const TOPIC_PARAMS: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 1,
  firstMessageDeliveriesWeight: 0,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 1,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 1,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
  invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY
}

export type PenaltyReason = 'failed-canary' | 'wrong-blob' | 'forged-log' | 'outvoted'

interface Penalty { faulty: PenaltyReason | undefined, outvotes: number }

/**
 * Peers this node caught misbehaving outside gossip, and the application
 * score (P5) gossipsub reads for them. Bounded: at most
 * {@link MAX_PENALISED_PEERS} entries, oldest forgotten first.
 */
export class PeerPenalties {
  private readonly peers = new Map<string, Penalty>()

  constructor (private readonly max = MAX_PENALISED_PEERS) {}

  /** The peer lied (failed a canary), served bytes that do not match their hash, or forged log receipts: graylisted. */
  fault (peerId: string, reason: Exclude<PenaltyReason, 'outvoted'>): void {
    const p = this.entry(peerId)
    p.faulty ??= reason
  }

  /** The peer's answer for a shard lost the vote. */
  outvoted (peerId: string): void {
    const p = this.entry(peerId)
    p.outvotes = Math.min(p.outvotes + 1, MAX_OUTVOTES_COUNTED)
  }

  /** Why the peer is penalised, or undefined. */
  reason (peerId: string): PenaltyReason | undefined {
    const p = this.peers.get(peerId)
    return p?.faulty ?? (p !== undefined && p.outvotes > 0 ? 'outvoted' : undefined)
  }

  /** P5 for gossipsub: 0 for every peer we hold nothing against. */
  appScore (peerId: string): number {
    const p = this.peers.get(peerId)
    if (p === undefined) return 0
    return p.faulty !== undefined ? APP_SCORE_FAULTY : p.outvotes * APP_SCORE_PER_OUTVOTE
  }

  get size (): number {
    return this.peers.size
  }

  private entry (peerId: string): Penalty {
    let p = this.peers.get(peerId)
    if (p === undefined) {
      if (this.peers.size >= this.max) this.peers.delete(this.peers.keys().next().value!)
      this.peers.set(peerId, p = { faulty: undefined, outvotes: 0 })
    }
    return p
  }
}

/** Gossipsub's `scoreParams` and `scoreThresholds` for a node that reads P5 from `penalties`. */
export function gossipScoring (penalties: PeerPenalties): { scoreParams: Partial<PeerScoreParams>, scoreThresholds: PeerScoreThresholds } {
  return {
    scoreParams: {
      topics: Object.fromEntries(SCORED_TOPICS.map(t => [t, { ...TOPIC_PARAMS }])),
      appSpecificScore: peerId => penalties.appScore(peerId),
      appSpecificWeight: 10,
      IPColocationFactorWeight: 0
    },
    scoreThresholds: SCORE_THRESHOLDS
  }
}

/** Refusal reasons (`"<ErrorName>: …"`) that say nothing about the honesty of the peer that delivered the message. */
const TIMING_REFUSALS = ['StaleMessageError', 'FutureMessageError', 'ReplayError']

/** True for a refusal (`"<ErrorName>: …"`) caused only by the message's signed time or sequence number. */
export function isTimingRefusal (reason: string): boolean {
  return TIMING_REFUSALS.some(name => reason.startsWith(`${name}:`))
}

/** What a topic validator answers for a refused message: IGNORE for clock or ordering trouble, REJECT (scored) for the rest. */
export function refusalResult (reason: string): TopicValidatorResult {
  return isTimingRefusal(reason) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
}

/**
 * The score `pubsub` holds for `peerId`, or undefined if it cannot tell.
 * (@libp2p/gossipsub's exported interface does not declare `getScore`; its
 * implementation has had it since v1.1 scoring.)
 */
export function gossipScore (pubsub: GossipSub, peerId: string): number | undefined {
  const impl = pubsub as unknown as { getScore?: (id: string) => number }
  return typeof impl.getScore === 'function' ? impl.getScore(peerId) : undefined
}
