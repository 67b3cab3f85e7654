/**
 * Mesh upkeep: keeps a connection to every configured relay (with backoff
 * and a visible status), and turns every discovered peer into a direct WebRTC
 * connection. Only one side of a pair dials (the peer whose id sorts first):
 * simultaneous dials between the same two tabs can both time out.
 * Once a direct connection to a peer is open, its relayed connections are
 * closed: they only carried WebRTC signalling, and each one holds a slot and
 * bandwidth on the relay (and would keep a closed tab listed until the relay
 * noticed). So when a direct connection drops (e.g. a tab busy for seconds
 * missed its pings), the dialling side dials again at once: two tabs that
 * only had each other would otherwise never hear a heartbeat that prompts it.
 */
import { TypedEventEmitter } from 'main-event'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerInfo, PeerStore, PeerUpdate, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'
import {
  BACKOFF_JITTER, DIRECT_DIAL_ATTEMPTS, DIRECT_DIAL_RETRY_MS, DIRECT_DIAL_TIMEOUT_MS, DIRECT_REDIAL_DELAY_MS,
  RELAY_BACKOFF_MAX_MS, RELAY_BACKOFF_MIN_MS, RELAYED_CLOSE_DELAY_MS
} from './constants.ts'

export type RelayState =
  | { status: 'connecting', attempt: number }
  | { status: 'connected', since: number }
  | { status: 'retrying', attempt: number, retryAt: number, error: string }

export interface RelayStatus { addr: string, peerId: string, state: RelayState }

export interface MeshInit {
  relays: Multiaddr[]
  backoffMinMs?: number
  backoffMaxMs?: number
}

export interface MeshComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface MeshEvents {
  'relay:status': CustomEvent<RelayStatus>
}

/** Jittered exponential backoff: attempt 1 → min, doubling up to max. */
export function backoffDelay (attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random()))
}

/** Which of two peers dials the other: the one whose id sorts first. */
export function shouldDial (self: string, other: string): boolean {
  return self < other
}

/** Whether a connection is a direct WebRTC connection (not through a relay). */
export function isDirectWebRTC (connection: Pick<Connection, 'remoteAddr' | 'limits'>): boolean {
  return connection.limits === undefined && WebRTC.matches(connection.remoteAddr)
}

export class Mesh extends TypedEventEmitter<MeshEvents> implements Startable {
  private readonly log: Logger
  private readonly relays: Map<string, RelayStatus>
  private readonly relayAddrs: Multiaddr[]
  private readonly dialing = new Set<string>()
  private readonly controller = new AbortController()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private readonly minMs: number
  private readonly maxMs: number

  constructor (private readonly components: MeshComponents, init: MeshInit) {
    super()
    this.log = components.logger.forComponent('essaim:net:mesh')
    this.relayAddrs = init.relays
    this.minMs = init.backoffMinMs ?? RELAY_BACKOFF_MIN_MS
    this.maxMs = init.backoffMaxMs ?? RELAY_BACKOFF_MAX_MS
    this.relays = new Map(init.relays.map(addr => {
      const peerId = addr.getComponents().at(-1)?.value ?? ''
      return [peerId, { addr: addr.toString(), peerId, state: { status: 'connecting', attempt: 1 } }]
    }))
    this.onDiscovery = this.onDiscovery.bind(this)
    this.onUpdate = this.onUpdate.bind(this)
    this.onClose = this.onClose.bind(this)
    this.onOpen = this.onOpen.bind(this)
  }

  readonly [Symbol.toStringTag] = 'essaim:mesh'

  start (): void {
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.components.events.addEventListener('peer:update', this.onUpdate)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  /** Relays are dialled once the transports have started (before that every dial fails with "Not started"). */
  afterStart (): void {
    this.relayAddrs.forEach(addr => { void this.connectRelay(addr, 1) })
  }

  stop (): void {
    this.controller.abort()
    this.timers.forEach(t => clearTimeout(t))
    this.timers.clear()
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.components.events.removeEventListener('peer:update', this.onUpdate)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.components.events.removeEventListener('connection:open', this.onOpen)
  }

  /** The status of each configured relay, in configuration order (copies: ours change in place). */
  relayStatus (): RelayStatus[] {
    return [...this.relays.values()].map(r => ({ ...r }))
  }

  isRelay (peerId: string): boolean {
    return this.relays.has(peerId)
  }

  private setRelay (peerId: string, state: RelayState): void {
    const entry = this.relays.get(peerId)
    if (entry === undefined) return
    entry.state = state
    this.safeDispatchEvent('relay:status', { detail: { ...entry } })
  }

  private async connectRelay (addr: Multiaddr, attempt: number): Promise<void> {
    const peerId = addr.getComponents().at(-1)?.value ?? ''
    if (this.controller.signal.aborted) return
    this.setRelay(peerId, { status: 'connecting', attempt })
    try {
      await this.components.connectionManager.openConnection(addr, {
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(10_000)])
      })
      this.setRelay(peerId, { status: 'connected', since: Date.now() })
    } catch (err) {
      if (this.controller.signal.aborted) return
      const delay = backoffDelay(attempt, this.minMs, this.maxMs)
      this.log('relay %s unreachable (attempt %d): %s; retry in %d ms', addr, attempt, (err as Error).message, delay)
      this.setRelay(peerId, { status: 'retrying', attempt, retryAt: Date.now() + delay, error: describeError(err) })
      this.later(delay, () => { void this.connectRelay(addr, attempt + 1) })
    }
  }

  private onClose (evt: CustomEvent<Connection>): void {
    const remote = evt.detail.remotePeer.toString()
    if (this.controller.signal.aborted) return
    const relay = this.relays.get(remote)
    if (relay === undefined) {
      // A tab that is gone for good fails these dials quickly at the relay (no reservation).
      if (isDirectWebRTC(evt.detail)) this.later(DIRECT_REDIAL_DELAY_MS, () => { this.ensureDirect(evt.detail.remotePeer) })
      return
    }
    if (this.components.connectionManager.getConnections(evt.detail.remotePeer).length > 0) return
    const addr = this.relayAddrs.find(a => a.toString() === relay.addr)
    if (addr === undefined) return
    const delay = backoffDelay(1, this.minMs, this.maxMs)
    this.setRelay(remote, { status: 'retrying', attempt: 1, retryAt: Date.now() + delay, error: 'connection to relay closed' })
    this.later(delay, () => { void this.connectRelay(addr, 2) })
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    if (!isDirectWebRTC(evt.detail)) return
    const peer = evt.detail.remotePeer
    // Give the signalling stream a moment to finish on the other side too.
    this.later(RELAYED_CLOSE_DELAY_MS, () => { void this.closeRelayed(peer) })
  }

  /** Closes the relayed connections to a peer we also reach directly. */
  private async closeRelayed (peer: PeerId): Promise<void> {
    if (!this.hasDirect(peer)) return
    const relayed = this.components.connectionManager.getConnections(peer).filter(c => c.limits !== undefined && c.status === 'open')
    await Promise.all(relayed.map(async c => {
      await c.close({ signal: AbortSignal.timeout(5_000) }).catch(err => {
        this.log('closing relayed connection to %p failed: %s', peer, (err as Error).message)
        c.abort(err as Error)
      })
    }))
  }

  private onDiscovery (evt: CustomEvent<PeerInfo>): void {
    this.maybeDial(evt.detail.id, evt.detail.multiaddrs)
  }

  /**
   * libp2p emits `peer:discovery` only for a peer new to the peer store; a
   * tab that reloads (same key) is only ever an update: fresh addresses from
   * peer discovery. Dial it if we are the side that dials and it is not
   * reached directly.
   */
  private onUpdate (evt: CustomEvent<PeerUpdate>): void {
    if (evt.detail.previous === undefined) return
    this.maybeDial(evt.detail.peer.id, evt.detail.peer.addresses.map(a => a.multiaddr))
  }

  private maybeDial (id: PeerId, multiaddrs: Multiaddr[], options: { evenIfNotDialer?: boolean } = {}): void {
    if (!this.wantsDial(id, options)) return
    const targets = multiaddrs.filter(ma => WebRTC.matches(ma))
    if (targets.length === 0) return
    void this.dialDirect(id, targets)
  }

  /** Not stopped, not a relay, our side dials (unless told otherwise), not already dialling or reached directly. */
  private wantsDial (peer: PeerId, options: { evenIfNotDialer?: boolean }): boolean {
    const remote = peer.toString()
    if (this.controller.signal.aborted || this.relays.has(remote)) return false
    if (options.evenIfNotDialer !== true && !shouldDial(this.components.peerId.toString(), remote)) return false
    return !this.dialing.has(remote) && !this.hasDirect(peer)
  }

  /**
   * Makes sure a live peer (we just heard its heartbeat) is reached directly.
   * libp2p announces a peer only the first time it is discovered, so a tab
   * that reloads (same key) or whose direct connection dropped would never be
   * dialled again without this. Only the designated side dials.
   */
  ensureDirect (peer: PeerId, options: { evenIfNotDialer?: boolean } = {}): void {
    if (!this.wantsDial(peer, options)) return
    void this.components.peerStore.get(peer).then(p => {
      this.maybeDial(peer, p.addresses.map(a => a.multiaddr), options)
    }, () => {})
  }

  private hasDirect (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).some(c => isDirectWebRTC(c) && c.status === 'open')
  }

  /** Dials a peer's /webrtc addresses, with retries and jitter. */
  private async dialDirect (peer: PeerId, found: Multiaddr[]): Promise<void> {
    const key = peer.toString()
    const addrs = withPeerId(found, key)
    this.dialing.add(key)
    try {
      for (let attempt = 1; attempt <= DIRECT_DIAL_ATTEMPTS && !this.controller.signal.aborted; attempt++) {
        if (this.hasDirect(peer)) return
        try {
          const conn = await this.components.connectionManager.openConnection(addrs, {
            signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(DIRECT_DIAL_TIMEOUT_MS)]),
            force: true
          })
          if (isDirectWebRTC(conn)) { this.log('direct connection to %p', peer); return }
        } catch (err) {
          this.log('direct dial to %p failed (attempt %d): %s', peer, attempt, (err as Error).message)
        }
        await this.sleep(DIRECT_DIAL_RETRY_MS * attempt * (0.5 + Math.random()))
      }
    } finally {
      this.dialing.delete(key)
    }
  }

  private later (ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); fn() }, ms)
    this.timers.add(t)
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => { this.later(ms, resolve) })
  }
}

/**
 * Each address ending in `/p2p/<peer>`. Addresses learnt from identify lack
 * that suffix, so a circuit address's last peer id is the relay's, and
 * libp2p refuses to dial a list whose addresses name different peers.
 */
export function withPeerId (addrs: Multiaddr[], peer: string): Multiaddr[] {
  const out = new Map<string, Multiaddr>()
  for (const ma of addrs) {
    const last = ma.getComponents().at(-1)
    const full = last?.name === 'p2p' && last.value === peer ? ma : ma.encapsulate(`/p2p/${peer}`)
    out.set(full.toString(), full)
  }
  return [...out.values()]
}

function describeError (err: unknown): string {
  const e = err as { name?: string, message?: string, errors?: unknown[] }
  if (Array.isArray(e.errors) && e.errors.length > 0) return describeError(e.errors[0])
  return e.message ?? e.name ?? String(err)
}

/** libp2p service factory: `services: { mesh: mesh({ relays }) }`. */
export function mesh (init: MeshInit): (components: MeshComponents) => Mesh {
  return components => new Mesh(components, init)
}
