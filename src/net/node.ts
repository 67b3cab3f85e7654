/**
 * The one libp2p configuration of a browser peer. Why each piece is here:
 * - WebSockets: the only way a browser reaches a relay.
 * - Circuit relay (transport): reserve a slot on each relay so other tabs can
 *   reach us through it, which is how WebRTC signalling (SDP/ICE) travels.
 * - WebRTC: the direct browser-to-browser connections all gossip and work use.
 * - Noise + Yamux: encryption and stream multiplexing on relay connections
 *   (WebRTC brings its own DTLS and data channels, plus a Noise handshake).
 * - identify: learn each other's listen addresses and protocols.
 * - ping: liveness and the round-trip times shown on the Volunteer page.
 * - gossipsub: presence, jobs, attestations, tree heads; one validator per topic,
 *   with peer scoring (scoring.ts) so a peer whose messages the validators
 *   reject, or that our requester caught lying, is graylisted.
 * - penalties: the peers caught misbehaving outside gossip (failed canary,
 *   wrong blob bytes, outvoted answers), read by gossipsub's scoring.
 * - mesh: keeps relay connections up (with backoff) and dials every
 *   discovered tab directly over /webrtc.
 * - pubsub peer discovery: tabs announce their addresses through the relay's
 *   generic discovery topic, then dial each other directly.
 * - work: volunteers pull shards from requesters and hand in results.
 * - blob: model bytes by sha256 from (and to) other tabs over direct
 *   connections, so the static origin is not the only source.
 * - log: receipts a peer missed (gossip does not replay), asked of their
 *   requester over a direct connection and verified like gossiped ones.
 */
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { webRTC } from '@libp2p/webrtc'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { pubsubPeerDiscovery, TOPIC as DISCOVERY_TOPIC, type PubSubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import type { Ed25519PrivateKey, Ed25519PublicKey, Libp2pEvents, PeerDiscovery, PeerId } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { isPrivate } from '@libp2p/utils'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import type { Multiaddr } from '@multiformats/multiaddr'
import { signAsync, type Identity } from '../core/identity.ts'
import { InvalidKeyError } from '../core/errors.ts'
import { DIRECT_DIAL_TIMEOUT_MS, DISCOVERY_INTERVAL_MS } from './constants.ts'
import { swarmInterval } from './pace.ts'
import { mesh, shouldDial, type Mesh } from './mesh.ts'
import { gossipStreams, type GossipStreams } from './gossip-streams.ts'
import { blob, type BlobService, type BlobStore } from './protocols/blob.ts'
import { work, type WorkService } from './protocols/work.ts'
import { logService, type LogService } from './protocols/log.ts'
import { PeerPenalties, gossipScoring } from './scoring.ts'

export interface BaseServices {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  penalties: PeerPenalties
  mesh: Mesh
  blob: BlobService
  work: WorkService
  log: LogService
  gossipStreams: GossipStreams
}

/** libp2p's internal components (not exported by name from 'libp2p'). */
type Components = Parameters<ServiceFactoryMap<Record<string, unknown>>[string]>[0]

export type EssaimNode<S extends Record<string, unknown> = Record<string, unknown>> = Libp2p<BaseServices & S>

export interface EssaimNodeInit<S extends Record<string, unknown>> {
  identity: Identity
  /** Relays to keep a connection (and a reservation) with. */
  relays: Multiaddr[]
  /** Dial loopback/private addresses and insecure ws (local swarms and tests only). */
  allowPrivateAddresses: boolean
  /** Verified blobs (the model cache) this peer serves; without it the node only fetches. */
  blobStore?: BlobStore
  /** ICE servers for WebRTC; none are needed on one machine or one LAN. */
  iceServers?: RTCIceServer[]
  /** Extra Essaim services (blob, work, …) in libp2p's factory shape; they may use the base services. */
  services?: { [K in keyof S]: (components: Components & BaseServices & S) => S[K] }
}

/**
 * The libp2p private key for an Essaim identity: the same Ed25519 key. It
 * signs (gossip messages, Noise handshakes, identify's records) through
 * identity.ts's native signer: with a key the platform holds, the only way
 * to sign; with a seed, it imports the key once, where @libp2p/crypto's own
 * would import it into WebCrypto again for every signature (it showed in a
 * page's CPU profile). Ed25519 is deterministic: the signatures are the same.
 * A platform-held key has no `raw` bytes to give: reading them throws
 * (libp2p itself never does; only its keychain, which Essaim does not use).
 */
export function libp2pKey (identity: Identity): Ed25519PrivateKey {
  const sign = async (data: Parameters<Ed25519PrivateKey['sign']>[0]): Promise<Uint8Array> =>
    await signAsync(identity, data instanceof Uint8Array ? data : data.subarray())
  if (identity.seed !== undefined) {
    const raw = new Uint8Array(64)
    raw.set(identity.seed, 0)
    raw.set(identity.publicKey, 32)
    const key = privateKeyFromRaw(raw) as Ed25519PrivateKey
    key.sign = sign
    return key
  }
  const publicKey = publicKeyFromRaw(identity.publicKey) as Ed25519PublicKey
  const key: Ed25519PrivateKey = {
    type: 'Ed25519',
    publicKey,
    get raw (): Uint8Array {
      throw new InvalidKeyError('this key is held by the browser: its bytes cannot be read')
    },
    equals: (other?: unknown) => other === key,
    sign
  }
  return key
}

/**
 * Whether a multiaddr may be dialled. Public deployments refuse private
 * addresses (a page must not be usable to probe someone's LAN) and insecure
 * WebSockets; local swarms allow both.
 */
export function dialAllowed (addr: Multiaddr, allowPrivateAddresses: boolean): boolean {
  if (allowPrivateAddresses) return true
  if (WebSockets.matches(addr)) return false
  return isPrivate(addr) !== true
}

/** Creates and starts the browser node. */
export async function createEssaimNode<S extends Record<string, unknown>> (init: EssaimNodeInit<S>): Promise<EssaimNode<S>> {
  const allow = init.allowPrivateAddresses
  const penalties = new PeerPenalties()
  return await createLibp2p<BaseServices & S>({
    privateKey: libp2pKey(init.identity),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p's own per-address limit (6 s) would cut every dial to that, whatever
    // signal the caller passes: with five tabs booting on two cores, the relayed
    // circuit a WebRTC dial signals over alone took ~5 s, and a dial ended at 6 s
    // starts again from nothing. Our callers pass their own deadlines.
    connectionManager: { addressDialTimeout: DIRECT_DIAL_TIMEOUT_MS },
    connectionGater: {
      denyDialMultiaddr: addr => !dialAllowed(addr, allow)
    },
    // Its own re-broadcast timer is set out of the way: announcingOnNewAddresses paces them by the swarm's size.
    peerDiscovery: [announcingOnNewAddresses(pubsubPeerDiscovery({ interval: DISCOVERY_IDLE_MS }))],
    services: {
      // Not over relayed circuits: between tabs they only carry the WebRTC
      // signalling and close once the direct connection is up (which runs its
      // own identify); an identify each way on them was extra streams, signed
      // peer records and peer-store updates in the middle of every handshake.
      identify: identify({ runOnLimitedConnection: false }),
      ping: ping(),
      penalties: () => penalties,
      pubsub: gossipsub({
        ...gossipScoring(penalties),
        allowPublishToZeroTopicPeers: true,
        // Our own envelopes carry Essaim signatures; gossipsub's StrictSign
        // additionally binds each message to the libp2p peer that sent it.
        globalSignaturePolicy: 'StrictSign',
        emitSelf: false
      }),
      mesh: mesh({ relays: init.relays }),
      blob: blob({ store: init.blobStore, penalties }),
      work: work(),
      log: logService({ penalties }),
      gossipStreams: gossipStreams(),
      ...(init.services ?? {})
    } as ServiceFactoryMap<BaseServices & S>
  })
}

/**
 * Pubsub peer discovery broadcasts our addresses on start (before the relay
 * reservation gives us a dialable /p2p-circuit/webrtc address, so nobody can
 * use it) and then every interval. Broadcasting again as soon as a transport
 * listens on a new address, once more shortly after, and as soon as the
 * topic has a subscriber (the relay's subscription often arrives just after
 * the reservation, and a broadcast with no subscriber is skipped), lets peers
 * dial a new tab about an interval sooner. The cue is `transport:listening`,
 * which the relay reservation fires at once: `self:peer:update` comes a
 * debounced second later (libp2p's address manager). And a new tab that is
 * the one to dial us (mesh.ts: one side dials) learns our address from a
 * broadcast made as soon as we hear of it, not at our next interval. The
 * re-broadcasts in between come at the swarm's pace (rebroadcastPaced).
 */
function announcingOnNewAddresses<C> (factory: (components: C) => PeerDiscovery): (components: C & { events: TypedEventTarget<Libp2pEvents>, peerId: PeerId }) => PeerDiscovery {
  return components => {
    const discovery = factory(components) as PubSubPeerDiscovery
    const broadcast = (): void => {
      if (!discovery.isStarted()) return
      try { discovery._broadcast() } catch { /* pubsub not ready yet: the interval broadcast follows */ }
    }
    announceOnListening(components.events, broadcast)
    // pubsub exists once the node is built, well before the first reservation.
    components.events.addEventListener('transport:listening', () => {
      const { pubsub } = components as { pubsub?: TopicSubscribers }
      if (pubsub !== undefined) announceOnFirstSubscriber(pubsub, DISCOVERY_TOPIC, broadcast)
    }, { once: true })
    // From the start, as the module's own timer would (peers are counted once discovery runs).
    rebroadcastPaced(discovery, () => (components as { pubsub?: TopicSubscribers }).pubsub?.getSubscribers(DISCOVERY_TOPIC).length ?? 0, broadcast)
    answerNewDialers(components.events, components.peerId.toString(), broadcast)
    return discovery
  }
}

/**
 * Calls `broadcast` when a transport listens on new addresses (a relay
 * reservation), and once more {@link ANNOUNCE_AGAIN_MS} later. The circuit
 * listener and the WebRTC listener built on it report together: one
 * broadcast for both.
 */
export function announceOnListening (events: TypedEventTarget<Pick<Libp2pEvents, 'transport:listening'>>, broadcast: () => void): void {
  let soon: ReturnType<typeof setTimeout> | undefined
  events.addEventListener('transport:listening', () => {
    if (soon !== undefined) return
    soon = setTimeout(() => {
      soon = undefined
      broadcast()
      setTimeout(broadcast, ANNOUNCE_AGAIN_MS)
    }, 0)
  })
}

/** What announceOnFirstSubscriber needs of pubsub. */
export interface TopicSubscribers {
  getSubscribers: (topic: string) => unknown[]
  addEventListener: (type: 'subscription-change', listener: (evt: CustomEvent<{ subscriptions: Array<{ topic: string, subscribe: boolean }> }>) => void) => void
}

/**
 * Calls `broadcast` when a peer subscribes to `topic` and is its only
 * subscriber: until then a broadcast had nobody to go to and was skipped
 * (pubsub-peer-discovery does not publish to an empty topic). On boot the
 * relay's subscription often arrives just after the reservation, and its
 * address would otherwise wait for the re-broadcast.
 */
export function announceOnFirstSubscriber (pubsub: TopicSubscribers, topic: string, broadcast: () => void): void {
  pubsub.addEventListener('subscription-change', evt => {
    if (!evt.detail.subscriptions.some(s => s.topic === topic && s.subscribe)) return
    if (pubsub.getSubscribers(topic).length === 1) broadcast()
  })
}

/**
 * Calls `broadcast` (once for discoveries arriving together) when a peer we
 * do not dial is discovered: that peer dials us, and needs our address.
 */
export function answerNewDialers (events: TypedEventTarget<Pick<Libp2pEvents, 'peer:discovery'>>, self: string, broadcast: () => void): void {
  let soon: ReturnType<typeof setTimeout> | undefined
  events.addEventListener('peer:discovery', evt => {
    if (soon !== undefined || shouldDial(self, evt.detail.id.toString())) return
    soon = setTimeout(() => { soon = undefined; broadcast() }, ANSWER_DIALER_MS)
  })
}

/**
 * Calls `broadcast` every `swarmInterval(others())` (DISCOVERY_INTERVAL_MS in
 * a small swarm, further apart in a large one: every peer receives every
 * broadcast) until `discovery`, once started, has stopped.
 */
export function rebroadcastPaced (discovery: { isStarted: () => boolean }, others: () => number, broadcast: () => void): void {
  let started = false
  const next = (delay: number): void => {
    const timer = setTimeout(() => {
      if (discovery.isStarted()) {
        started = true
        broadcast()
      } else if (started) {
        return
      }
      // Counted only once discovery runs (before that, libp2p's components may not hold pubsub yet).
      next(started ? swarmInterval(others(), DISCOVERY_INTERVAL_MS) : DISCOVERY_INTERVAL_MS)
    }, delay)
    // In Node (test peers, scripts), a process whose node stopped exits without waiting for it.
    ;(timer as { unref?: () => void }).unref?.()
  }
  next(DISCOVERY_INTERVAL_MS)
}

/** pubsub-peer-discovery's own re-broadcast interval: a day, out of the way of rebroadcastPaced (it must run: it is how the module knows it has started). */
const DISCOVERY_IDLE_MS = 24 * 3600_000

/** How long discoveries are gathered before answering them with one broadcast. */
const ANSWER_DIALER_MS = 50

/** Second broadcast after an address change (see announcingOnNewAddresses). */
const ANNOUNCE_AGAIN_MS = 400
