/**
 * The relay (scripts/relay.ts), started in this process on loopback and
 * reached by real circuit-relay-v2 clients over WebSockets: it listens where
 * it is told, enforces its reservation limit, carries no Essaim topic, lets
 * many tabs from one address connect at once and keeps forwarding discovery
 * to them however many came before, and its command line refuses bad numbers
 * with the option's name.
 */
import { describe, it, expect } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { parseArgs, startRelay } from '../../../scripts/relay.ts'
import { gossipScore } from '../../../src/net/scoring.ts'

/** A Node peer that reserves a slot on `relay` as it starts (what a tab does). */
async function reservingClient (relay: string): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: [`${relay}/p2p-circuit`] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() }
  })
}

/** A Node peer on the relay's discovery topic over loopback, as a tab is. */
async function discoveryClient (relay: string): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  node.services.pubsub.subscribe(DISCOVERY_TOPIC)
  await node.dial(multiaddr(relay))
  return node
}

const DISCOVERY_TOPIC = '_peer-discovery._p2p._pubsub'

/** The relay's gossipsub mesh on the discovery topic (the implementation has it; the interface type does not). */
function meshPeers (pubsub: GossipSub): string[] {
  return (pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(DISCOVERY_TOPIC)
}

describe('relay', () => {
  it('listens on the host and port given, and refuses reservations past its limit', async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0, maxReservations: 1 })
    const clients: Libp2p[] = []
    try {
      const addrs = relay.getMultiaddrs().map(String)
      expect(addrs).toHaveLength(1)
      expect(addrs[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${relay.peerId.toString()}$`))

      const first = await reservingClient(addrs[0]!)
      clients.push(first)
      expect(first.getMultiaddrs().map(String)).toContain(`${addrs[0]!}/p2p-circuit/p2p/${first.peerId.toString()}`)

      await expect(reservingClient(addrs[0]!)).rejects.toThrow(/RESERVATION_REFUSED/)

      // Only the generic peer-discovery topic: the relay has no Essaim logic.
      const topics = (relay.services.pubsub as GossipSub).getTopics()
      expect(topics.filter(t => t.startsWith('essaim/'))).toEqual([])
    } finally {
      await Promise.all(clients.map(async c => { await c.stop() }))
      await relay.stop()
    }
  })

  it('scores the twelfth tab from one address like the first (no IP colocation penalty), so it is still sent discovery', { timeout: 60_000 }, async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0 })
    const pubsub = relay.services.pubsub as GossipSub
    const addr = relay.getMultiaddrs()[0]!.toString()
    try {
      // Tabs that came and went: gossipsub remembers their address for an hour.
      for (let i = 0; i < 11; i++) {
        const gone = await discoveryClient(addr)
        await expect.poll(() => pubsub.getSubscribers(DISCOVERY_TOPIC).map(String)).toContain(gone.peerId.toString())
        await gone.stop()
      }
      const tab = await discoveryClient(addr)
      try {
        await expect.poll(() => meshPeers(pubsub).map(String), { timeout: 10_000 }).toContain(tab.peerId.toString())
        expect(gossipScore(pubsub, tab.peerId.toString())).toBeGreaterThanOrEqual(0)
      } finally {
        await tab.stop()
      }
    } finally {
      await relay.stop()
    }
  })

  it('lets a dozen tabs from one address connect in the same second', { timeout: 30_000 }, async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0 })
    const addr = relay.getMultiaddrs()[0]!.toString()
    const tabs: Array<Libp2p<{ pubsub: GossipSub }>> = []
    try {
      const opened = await Promise.allSettled(Array.from({ length: 12 }, async () => { const t = await discoveryClient(addr); tabs.push(t); return t }))
      expect(opened.filter(r => r.status === 'rejected').map(r => String((r as PromiseRejectedResult).reason))).toEqual([])
    } finally {
      await Promise.all(tabs.map(async t => { await t.stop() }))
      await relay.stop()
    }
  })

  it('reads its options and names the one that is wrong', () => {
    expect(parseArgs(['--host', '0.0.0.0', '--port', '9091', '--max-reservations', '32', '--key-file', 'k'])).toEqual({ host: '0.0.0.0', port: 9091, maxReservations: 32, keyFile: 'k' })
    expect(() => parseArgs(['--port', '70000'])).toThrow('--port must be a whole number from 0 to 65535')
    expect(() => parseArgs(['--max-reservations', 'abc'])).toThrow('--max-reservations must be a whole number')
    expect(() => parseArgs(['--max-reservations', '0'])).toThrow('--max-reservations must be a whole number')
    expect(() => parseArgs(['--port'])).toThrow('missing value for --port')
    expect(() => parseArgs(['--relay', 'x'])).toThrow('unknown option --relay')
  })
})
