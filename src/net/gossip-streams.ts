/**
 * Keeps gossipsub talking to every peer it has a usable connection with.
 *
 * @libp2p/gossipsub (17.1) opens its one outbound stream to a peer when a
 * connection to that peer is reported open, and not at all if it holds one
 * already. So when a peer has two connections and the one carrying the
 * streams goes, the outbound stream is dropped and never made again on the
 * connection left: both ends stay connected and in each other's peer list,
 * and nothing gossiped passes between them, not even subscriptions (a
 * publisher does not know the other listens). It happens when a tab reloads
 * (same key) and reconnects before we notice its old connection died, which
 * is when a requester's volunteers most need its receipts and tree heads;
 * and when two dials cross. (Upstream, libp2p/js-libp2p#3531 made the
 * reconnect work when the old connection goes first, and left this case.)
 *
 * A stream read error, too, makes gossipsub drop a peer (it takes it for a
 * disconnect): when two dials crossed and one of the two connections goes,
 * both ends drop each other and gossip between them stops for good, though
 * the other connection is fine.
 *
 * What this service does: a peer with an open, unlimited connection that
 * gossipsub lists but holds no outbound stream for, or has dropped though
 * the peer speaks gossipsub (by the peer store), is handed to gossipsub
 * again as newly connected, on its newest such connection. That opens the
 * stream and sends our subscriptions; the other end, given a new inbound
 * stream, takes us back and opens its own outbound one if it lacks it. It
 * looks shortly after one of a peer's connections closes, and at every peer
 * every `sweepMs`. First it opens a ping stream on that connection: a peer
 * whose tab just went is dropped before its connection is noticed dead, and
 * a stream asked of a dead connection would hold up every other peer's for
 * seconds (gossipsub opens them one at a time); the probe gives up after
 * `probeMs`.
 */
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { GossipSub } from '@libp2p/gossipsub'
import { PING_PROTOCOL } from '@libp2p/ping'
import { GOSSIP_HEAL_AFTER_CLOSE_MS, GOSSIP_HEAL_PROBE_MS, GOSSIP_HEAL_SWEEP_MS } from './constants.ts'

export interface GossipStreamsInit {
  sweepMs?: number
  afterCloseMs?: number
  probeMs?: number
}

export interface GossipStreamsComponents {
  connectionManager: Pick<ConnectionManager, 'getConnections' | 'getConnectionsMap'>
  peerStore: Pick<PeerStore, 'get'>
  events: TypedEventTarget<Pick<Libp2pEvents, 'connection:close'>>
  logger: ComponentLogger
  /** The node's gossipsub service (libp2p adds services to the components; it is looked up at start). */
  pubsub?: GossipSub
}

/**
 * What this reads and calls on gossipsub's instance: public on its class,
 * but not on the interface the package exports (and `onPeerConnected`, its
 * topology callback, is private: the one way in to open a peer's streams).
 * Checked at start.
 */
interface GossipInternals {
  protocols: string[]
  isStarted: () => boolean
  readonly peers: Map<string, PeerId>
  readonly streamsOutbound: Map<string, unknown>
  onPeerConnected: (peer: PeerId, connection: Connection) => void
}

function internals (pubsub: GossipSub | undefined): GossipInternals | undefined {
  const g = pubsub as Partial<GossipInternals> | undefined
  const ok = g !== undefined && Array.isArray(g.protocols) && typeof g.isStarted === 'function' && g.peers instanceof Map &&
    g.streamsOutbound instanceof Map && typeof g.onPeerConnected === 'function'
  return ok ? g as GossipInternals : undefined
}

export class GossipStreams implements Startable {
  private readonly log: Logger
  private readonly sweepMs: number
  private readonly afterCloseMs: number
  private readonly probeMs: number
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private interval?: ReturnType<typeof setInterval>
  private pubsub?: GossipInternals
  /** Peers being healed now (one attempt at a time each). */
  private readonly healing = new Set<string>()
  readonly [Symbol.toStringTag] = 'essaim:gossip-streams'

  constructor (private readonly components: GossipStreamsComponents, init: GossipStreamsInit = {}) {
    this.log = components.logger.forComponent('essaim:net:gossip-streams')
    this.sweepMs = init.sweepMs ?? GOSSIP_HEAL_SWEEP_MS
    this.afterCloseMs = init.afterCloseMs ?? GOSSIP_HEAL_AFTER_CLOSE_MS
    this.probeMs = init.probeMs ?? GOSSIP_HEAL_PROBE_MS
    this.onClose = this.onClose.bind(this)
  }

  start (): void {
    this.pubsub = internals(this.components.pubsub)
    if (this.pubsub === undefined) {
      this.log.error('gossipsub is missing or not as expected (did @libp2p/gossipsub change?): its streams are not healed')
      return
    }
    this.components.events.addEventListener('connection:close', this.onClose)
    this.interval = setInterval(() => { void this.sweep() }, this.sweepMs)
  }

  stop (): void {
    this.components.events.removeEventListener('connection:close', this.onClose)
    clearInterval(this.interval)
    this.timers.forEach(t => { clearTimeout(t) })
    this.timers.clear()
  }

  /** The periodic pass (tests await it): heals every connected peer that needs it. Never throws. */
  async sweep (): Promise<void> {
    const peers = [...this.components.connectionManager.getConnectionsMap().keys()]
    await Promise.all(peers.map(async peer => { await this.heal(peer) }))
  }

  private onClose (evt: CustomEvent<Connection>): void {
    // After gossipsub has dropped the streams that ran over it.
    const timer = setTimeout(() => { this.timers.delete(timer); void this.heal(evt.detail.remotePeer) }, this.afterCloseMs)
    this.timers.add(timer)
  }

  /** Hands `peer` to gossipsub as connected if it lacks a stream and a live connection could carry one. Never throws. */
  private async heal (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.healing.has(id)) return
    this.healing.add(id)
    try {
      if (!await this.lacks(peer)) return
      const usable = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open' && c.limits === undefined)
      const newest = usable.sort((a, b) => b.timeline.open - a.timeline.open)[0]
      if (newest === undefined || !await this.alive(newest) || !await this.lacks(peer)) return
      this.log('gossip with %p had no outbound stream: opening one', peer)
      this.pubsub!.onPeerConnected(peer, newest)
    } catch (err) {
      this.log.error('healing gossip with %p failed: %s', peer, (err as Error).message)
    } finally {
      this.healing.delete(id)
    }
  }

  /** Whether gossipsub holds no outbound stream to `peer`, though it lists it or the peer speaks gossipsub. */
  private async lacks (peer: PeerId): Promise<boolean> {
    const pubsub = this.pubsub
    const id = peer.toString()
    if (pubsub === undefined || !pubsub.isStarted() || pubsub.streamsOutbound.has(id)) return false
    if (pubsub.peers.has(id)) return true
    const protocols = await this.components.peerStore.get(peer).then(p => p.protocols, () => [] as string[])
    return pubsub.protocols.some(p => protocols.includes(p))
  }

  /** Whether `connection` carries a new stream (one round trip to the peer's muxer), within `probeMs`. */
  private async alive (connection: Connection): Promise<boolean> {
    try {
      const stream = await connection.newStream(PING_PROTOCOL, { signal: AbortSignal.timeout(this.probeMs) })
      stream.abort(new Error('only a liveness probe'))
      return true
    } catch {
      return false
    }
  }
}

export function gossipStreams (init: GossipStreamsInit = {}): (components: GossipStreamsComponents) => GossipStreams {
  return components => new GossipStreams(components, init)
}
