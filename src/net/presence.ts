/**
 * Presence: every peer publishes a signed heartbeat on `essaim/presence/1`
 * (peer id, provider, threads, cached models, app version) and keeps the
 * last heartbeat of every other peer. Heartbeats come every
 * PRESENCE_INTERVAL_MS in a small swarm and further apart in a large one
 * (pace.ts), so a peer's share of checking them stays bounded; a
 * peer is dropped once it has been silent for PRESENCE_MISSED_BEATS of its
 * intervals (the spacing of its last two heartbeats, or the one this peer
 * would use, whichever is longer). The topic validator opens the envelope
 * (signature, schema, byte cap, age, replay) and checks that the envelope's
 * signer is the libp2p peer that originated the gossip message, so nobody can
 * speak for someone else. Anything else is REJECTed, which lowers the
 * forwarding peer's gossipsub score, before other code sees it.
 */
import { TypedEventEmitter } from 'main-event'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { openAsync, sealAsync, ReplayWindow, type Envelope } from '../core/envelope.ts'
import type { Identity } from '../core/identity.ts'
import type { PresenceBody } from '../core/schemas.ts'
import { bytesEqual } from '../core/bytes.ts'
import { refusalResult } from './scoring.ts'
import { swarmInterval } from './pace.ts'
import {
  PRESENCE_INTERVAL_MS, PRESENCE_MAX_AGE_MS, PRESENCE_MAX_FUTURE_MS, PRESENCE_MISSED_BEATS, TOPIC_PRESENCE
} from './constants.ts'

export interface Heartbeat {
  peerId: string
  body: PresenceBody
  seq: number
  /** Signed send time (ms). */
  ts: number
  /** Local receive time (ms). */
  receivedAt: number
}

export interface PresenceInit {
  identity: Identity
  /** What we announce; called before every heartbeat so it stays current. */
  describe: () => Omit<PresenceBody, 'peerId'>
  /** The interval in a small swarm (default PRESENCE_INTERVAL_MS). */
  intervalMs?: number
  now?: () => number
}

export interface PresenceComponents {
  peerId: PeerId
  pubsub: GossipSub
  connectionManager: Pick<ConnectionManager, 'closeConnections'>
  /** The mesh service, when present: a heartbeat from a peer we do not reach directly prompts a dial. */
  mesh?: { ensureDirect: (peer: PeerId) => void }
  logger: ComponentLogger
}

export interface PresenceEvents {
  'presence:heartbeat': CustomEvent<Heartbeat>
  'presence:sent': CustomEvent<{ seq: number, ts: number }>
  'presence:rejected': CustomEvent<{ from: string, reason: string }>
  /** A peer missed {@link PRESENCE_MISSED_BEATS} heartbeats: it is gone, or too sick to work with. */
  'presence:lost': CustomEvent<Heartbeat>
}

/** Why a gossip message on the presence topic is refused, or null if it is fine. */
export async function checkPresenceMessage (
  msg: Message,
  options: { now: number, replay: ReplayWindow }
): Promise<{ ok: true, envelope: Envelope<'presence'> } | { ok: false, reason: string }> {
  if (msg.type !== 'signed') return { ok: false, reason: 'unsigned gossip message' }
  // Native Ed25519 (pure JS is ~20× the main-thread time).
  const opened = await openAsync(msg.data, {
    kinds: ['presence'],
    now: options.now,
    maxAgeMs: PRESENCE_MAX_AGE_MS,
    maxFutureMs: PRESENCE_MAX_FUTURE_MS,
    replay: options.replay
  })
  if (!opened.ok) return { ok: false, reason: `${opened.error.name}: ${opened.error.message}` }
  const envelope = opened.envelope as Envelope<'presence'>
  if (envelope.body.peerId !== msg.from.toString()) return { ok: false, reason: 'heartbeat names another peer id than its sender' }
  if (!bytesEqual(envelope.signer, msg.key.raw)) return { ok: false, reason: 'heartbeat signed by another key than its sender' }
  return { ok: true, envelope }
}

export class Presence extends TypedEventEmitter<PresenceEvents> implements Startable {
  private readonly log: Logger
  private readonly peers = new Map<string, Heartbeat>()
  /** Time between the last two heartbeats received from each listed peer (ms): its interval, as it spaces them. */
  private readonly gaps = new Map<string, number>()
  /** The PeerId object of each listed peer, to close its connections once it is silent. */
  private readonly lastFrom = new Map<string, PeerId>()
  private readonly replay = new ReplayWindow()
  /** Heartbeats the validator accepted, with what it opened, for the message handler. */
  private readonly accepted = new WeakMap<Message, Envelope<'presence'>>()
  private readonly intervalMs: number
  private readonly now: () => number
  private timer?: ReturnType<typeof setTimeout>
  private pruneTimer?: ReturnType<typeof setInterval>
  /** When the prune timer last ran (to tell when our own page stalled). */
  private lastTick = 0
  /** Pending closes of connections to peers dropped as silent (see {@link prune}). */
  private readonly closing = new Set<ReturnType<typeof setTimeout>>()
  private seq = 0
  readonly [Symbol.toStringTag] = 'essaim:presence'

  constructor (private readonly components: PresenceComponents, private readonly init: PresenceInit) {
    super()
    this.log = components.logger.forComponent('essaim:net:presence')
    this.intervalMs = init.intervalMs ?? PRESENCE_INTERVAL_MS
    this.now = init.now ?? Date.now
    this.onMessage = this.onMessage.bind(this)
  }

  start (): void {
    const pubsub = this.components.pubsub
    pubsub.topicValidators.set(TOPIC_PRESENCE, async (_peer, msg) => await this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
  }

  afterStart (): void {
    // gossipsub only accepts subscriptions once it has started itself.
    this.components.pubsub.subscribe(TOPIC_PRESENCE)
    void this.beat()
    this.scheduleBeat()
    this.lastTick = this.now()
    this.pruneTimer = setInterval(() => { this.tick() }, this.tickMs)
  }

  private get tickMs (): number {
    return Math.ceil(this.intervalMs / 2)
  }

  /**
   * The prune timer. When it fires late, our page was stalled (a long task,
   * a starved CPU): heartbeats that arrived meanwhile wait behind this timer,
   * so for as long as the stall lasted peers were not silent, we were not
   * listening. Their silence is counted without it, or after a stall of a few
   * seconds every peer would look gone at once.
   */
  private tick (): void {
    const now = this.now()
    const late = now - this.lastTick - this.tickMs
    this.lastTick = now
    if (late > this.tickMs) for (const hb of this.peers.values()) hb.receivedAt += late
    this.prune()
  }

  stop (): void {
    // The one pending beat: each schedules the next as it runs.
    clearTimeout(this.timer)
    clearInterval(this.pruneTimer)
    this.closing.forEach(t => { clearTimeout(t) })
    this.closing.clear()
    this.lastFrom.clear()
    this.components.pubsub.removeEventListener('message', this.onMessage)
    this.components.pubsub.topicValidators.delete(TOPIC_PRESENCE)
  }

  /** The time until our next heartbeat, for the swarm as we see it now. */
  get intervalNow (): number {
    return swarmInterval(this.peers.size, this.intervalMs)
  }

  private scheduleBeat (): void {
    this.timer = setTimeout(() => {
      void this.beat()
      this.scheduleBeat()
    }, this.intervalNow)
  }

  /** Peers whose last heartbeat is recent enough, newest first. */
  live (): Heartbeat[] {
    this.prune()
    return [...this.peers.values()].sort((a, b) => b.receivedAt - a.receivedAt)
  }

  /**
   * Forgets peers that missed too many heartbeats, and closes our connections
   * to those still silent as long again. A tab that was killed can leave its
   * WebRTC connection looking open for 10–30 s (until ICE consent fails); its
   * silence is the faster and surer sign. But a peer only slow (its page
   * stalled, its CPU starved) that loses its connections loses its heartbeats
   * and pulls with them, and under load every peer did so to every other at
   * once: the mesh fell apart and rebuilt itself for minutes. A peer heard
   * again within the grace keeps its connections and is listed again.
   */
  prune (): void {
    const now = this.now()
    const ours = this.intervalNow
    for (const [id, hb] of this.peers) {
      const allowed = PRESENCE_MISSED_BEATS * Math.max(ours, this.gaps.get(id) ?? 0)
      if (now - hb.receivedAt <= allowed) continue
      this.peers.delete(id)
      this.gaps.delete(id)
      this.log('%s went silent', id)
      this.safeDispatchEvent('presence:lost', { detail: hb })
      const from = this.lastFrom.get(id)
      this.lastFrom.delete(id)
      if (from !== undefined) this.closeIfStillSilent(id, from, allowed)
    }
  }

  private closeIfStillSilent (id: string, from: PeerId, graceMs: number): void {
    const timer = setTimeout(() => {
      this.closing.delete(timer)
      if (this.peers.has(id)) return
      void this.components.connectionManager.closeConnections(from).catch(err => {
        this.log('closing connections to silent %s failed: %s', id, (err as Error).message)
      })
    }, graceMs)
    this.closing.add(timer)
  }

  get(peerId: string): Heartbeat | undefined {
    return this.peers.get(peerId)
  }

  /** The sequence number of our last heartbeat. */
  get lastSeq (): number {
    return this.seq
  }

  /** Publishes a heartbeat now (also called on a timer). */
  async beat (): Promise<void> {
    const ts = this.now()
    // Sequence numbers must keep growing across reloads (the key survives a
    // reload, and peers remember the last seq they saw): base them on time.
    const seq = this.seq = Math.max(this.seq + 1, ts)
    const body: PresenceBody = { ...this.init.describe(), peerId: this.components.peerId.toString() }
    try {
      const bytes = await sealAsync('presence', body, this.init.identity, { seq, ts })
      await this.components.pubsub.publish(TOPIC_PRESENCE, bytes)
      this.safeDispatchEvent('presence:sent', { detail: { seq, ts } })
    } catch (err) {
      this.log.error('heartbeat not published: %s', (err as Error).message)
    }
  }

  private async validate (msg: Message): Promise<TopicValidatorResult> {
    const result = await checkPresenceMessage(msg, { now: this.now(), replay: this.replay })
    if (result.ok) {
      this.accepted.set(msg, result.envelope)
      return TopicValidatorResult.Accept
    }
    const from = msg.type === 'signed' ? msg.from.toString() : 'unknown'
    this.log('rejected heartbeat from %s: %s', from, result.reason)
    this.safeDispatchEvent('presence:rejected', { detail: { from, reason: result.reason } })
    return refusalResult(result.reason)
  }

  private onMessage (evt: CustomEvent<Message>): void {
    const msg = evt.detail
    if (msg.topic !== TOPIC_PRESENCE || msg.type !== 'signed') return
    // What the validator opened (a message reaches here only once accepted there).
    const env = this.accepted.get(msg)
    if (env === undefined) return
    const hb: Heartbeat = { peerId: env.body.peerId, body: env.body, seq: env.seq, ts: env.ts, receivedAt: this.now() }
    const previous = this.peers.get(hb.peerId)
    if (previous !== undefined) this.gaps.set(hb.peerId, hb.receivedAt - previous.receivedAt)
    this.peers.set(hb.peerId, hb)
    this.lastFrom.set(hb.peerId, msg.from)
    this.components.mesh?.ensureDirect(msg.from)
    this.safeDispatchEvent('presence:heartbeat', { detail: hb })
  }
}

/** libp2p service factory: `services: { presence: presence({ identity, describe }) }`. */
export function presence (init: PresenceInit): (components: PresenceComponents) => Presence {
  return components => new Presence(components, init)
}
