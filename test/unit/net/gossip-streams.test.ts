/**
 * src/net/gossip-streams.ts between real libp2p nodes (in-memory transport,
 * Noise, Yamux, gossipsub): gossipsub alone goes deaf to a peer whose
 * stream-carrying connection closed while another stayed (what a reloaded
 * tab that reconnected before its old connection was noticed dead leaves);
 * with the service, gossip and subscriptions flow again on the connection
 * left, and after a stream reset while its connection stays; a peer that
 * does not speak gossipsub is left alone.
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect, afterEach } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { gossipStreams, type GossipStreams } from '../../../src/net/gossip-streams.ts'
import { until } from '../until.ts'

type Node = Libp2p<{ pubsub: GossipSub, heal?: GossipStreams }>
let n = 0
const nodes: Libp2p[] = []

/** A node; `heal` adds the service (with a sweep too slow to matter: tests call sweep() themselves); `pings` serves ping, the service's liveness probe. */
async function node (heal: boolean, pubsub = true, pings = true): Promise<Node> {
  const created = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [`/memory/essaim-gossip-streams-${process.pid}-${++n}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ...(pings ? { ping: ping() } : {}),
      ...(pubsub ? { pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', allowPublishToZeroTopicPeers: true, emitSelf: false }) } : {}),
      ...(heal ? { heal: gossipStreams({ sweepMs: 3_600_000 }) } : {})
    }
  })
  nodes.push(created)
  return created as Node
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async x => { await x.stop() }))
})


const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const outbound = (x: Node, peer: PeerId): boolean => (x.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound.has(peer.toString())

/** What each node heard on 't'. */
interface Pair { a: Node, b: Node, first: Connection, heardByA: string[], heardByB: string[] }

/** `a` and `b` (with the service as `heal` says), both subscribed to 't', connected once, gossiping both ways. */
async function pair (heal: { a: boolean, b: boolean }, pings = true): Promise<Pair> {
  const a = await node(heal.a, true, pings)
  const b = await node(heal.b, true, pings)
  const heardByA: string[] = []
  const heardByB: string[] = []
  for (const [x, heard] of [[a, heardByA], [b, heardByB]] as const) {
    x.services.pubsub.subscribe('t')
    x.services.pubsub.addEventListener('message', e => { heard.push(new TextDecoder().decode(e.detail.data)) })
  }
  const first = await a.dial(b.getMultiaddrs()[0]!)
  await until('gossip between a and b', () => outbound(a, b.peerId) && outbound(b, a.peerId) &&
    a.services.pubsub.getSubscribers('t').length === 1 && b.services.pubsub.getSubscribers('t').length === 1)
  return { a, b, first, heardByA, heardByB }
}

/** A {@link pair} connected a second time, then the first connection (the one gossipsub's streams run on) aborted. */
async function reconnected (heal: boolean, pings = true): Promise<Pair> {
  const p = await pair({ a: heal, b: heal }, pings)
  await p.a.dial(p.b.getMultiaddrs()[0]!, { force: true })
  await sleep(200)
  p.first.abort(new Error('the old connection, found dead'))
  await until('the first connection gone', () => p.a.getConnections(p.b.peerId).length === 1)
  return p
}

describe('gossip streams', () => {
  it('upstream, unhealed: after the stream-carrying connection goes, the pair stays connected but gossip stops', async () => {
    // If this starts failing, @libp2p/gossipsub re-opens streams itself: src/net/gossip-streams.ts may go.
    const { a, b, heardByB: heard } = await reconnected(false)
    await sleep(500)
    expect(a.getConnections(b.peerId)).toHaveLength(1)
    expect(outbound(a, b.peerId)).toBe(false)
    await a.services.pubsub.publish('t', new TextEncoder().encode('lost'))
    await sleep(500)
    expect(heard).toEqual([])
  })

  it('two connections, the first closed (crossed dials): both ends dropped each other; after a sweep gossip flows on the one left', async () => {
    const { a, b, heardByB: heard } = await reconnected(true)
    await a.services.heal!.sweep()
    await until('streams re-opened', () => outbound(a, b.peerId) && outbound(b, a.peerId))
    await a.services.pubsub.publish('t', new TextEncoder().encode('heard'))
    await until('the message', () => heard.length === 1)
    expect(heard).toEqual(['heard'])
    // Subscriptions were sent again: each knows the other listens.
    expect(a.services.pubsub.getSubscribers('t').map(String)).toEqual([b.peerId.toString()])
    expect(b.services.pubsub.getSubscribers('t').map(String)).toEqual([a.peerId.toString()])
  })

  it('a reloaded peer that reconnected before its old connection closed: the stream is re-opened as that connection closes', async () => {
    const { a, b, first: old, heardByB: heard } = await pair({ a: true, b: false })
    // b comes back on a new connection, as a reloaded tab would (fresh gossipsub state: it opens its stream there);
    // a, whose old connection still looks open, keeps its outbound stream on it.
    const fresh = await a.dial(b.getMultiaddrs()[0]!, { force: true })
    const streams = (b.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
    streams.delete(a.peerId.toString())
    ;(b.services.pubsub as unknown as { onPeerConnected: (p: PeerId, c: Connection) => void }).onPeerConnected(a.peerId, fresh)
    await until('b\'s stream on the new connection', () => outbound(b, a.peerId))
    await sleep(200)
    old.abort(new Error('the old connection, found dead'))
    await until('a\'s stream re-opened on the new connection', () => outbound(a, b.peerId) && a.getConnections(b.peerId).length === 1)
    await a.services.pubsub.publish('t', new TextEncoder().encode('after the reload'))
    await until('the message', () => heard.length === 1)
  })

  it('a stream reset while its connection stays: the end that still lists the peer re-opens it on its sweep, and both are back', async () => {
    const { a, b, heardByA: heard } = await pair({ a: false, b: true })
    // b's stream to a is reset: a's read of it fails, and gossipsub takes that for a disconnect (handlePeerReadStreamError).
    const streams = (b.services.pubsub as unknown as { streamsOutbound: Map<string, { rawStream: Stream }> }).streamsOutbound
    streams.get(a.peerId.toString())!.rawStream.abort(new Error('reset'))
    const peersOf = (x: Node): Map<string, PeerId> => (x.services.pubsub as unknown as { peers: Map<string, PeerId> }).peers
    await until('a forgot b', () => !outbound(b, a.peerId) && !peersOf(a).has(b.peerId.toString()))
    await sleep(200)
    expect(a.getConnections(b.peerId)).toHaveLength(1)
    expect(peersOf(b).has(a.peerId.toString())).toBe(true)
    await b.services.heal!.sweep()
    await until('streams re-opened both ways', () => outbound(a, b.peerId) && outbound(b, a.peerId))
    await b.services.pubsub.publish('t', new TextEncoder().encode('back'))
    await until('the message', () => heard.length === 1)
    expect(heard).toEqual(['back'])
  })

  it('does not ask gossipsub for a stream over a connection that fails the liveness probe', async () => {
    // A peer that serves no ping stands here for a connection that no longer answers.
    const { a, b } = await reconnected(true, false)
    await a.services.heal!.sweep()
    await sleep(500)
    expect(outbound(a, b.peerId)).toBe(false)
    expect(outbound(b, a.peerId)).toBe(false)
  })

  it('leaves alone a peer that does not speak gossipsub', async () => {
    const a = await node(true)
    const plain = await node(false, false)
    await a.dial(plain.getMultiaddrs()[0]!)
    await sleep(300)
    await a.services.heal!.sweep()
    await sleep(300)
    const peers = (a.services.pubsub as unknown as { peers: Map<string, PeerId> }).peers
    expect(peers.has(plain.peerId.toString())).toBe(false)
    expect(a.getConnections(plain.peerId)).toHaveLength(1)
  })
})
