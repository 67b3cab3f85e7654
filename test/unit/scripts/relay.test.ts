/**
 * The relay (scripts/relay.ts), started in this process on loopback and
 * reached by real circuit-relay-v2 clients over WebSockets: it listens where
 * it is told, enforces its reservation limit, carries no Essaim topic, and
 * its command line refuses bad numbers with the option's name.
 */
import { describe, it, expect } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import { parseArgs, startRelay } from '../../../scripts/relay.ts'

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

  it('reads its options and names the one that is wrong', () => {
    expect(parseArgs(['--host', '0.0.0.0', '--port', '9091', '--max-reservations', '32', '--key-file', 'k'])).toEqual({ host: '0.0.0.0', port: 9091, maxReservations: 32, keyFile: 'k' })
    expect(() => parseArgs(['--port', '70000'])).toThrow('--port must be a whole number from 0 to 65535')
    expect(() => parseArgs(['--max-reservations', 'abc'])).toThrow('--max-reservations must be a whole number')
    expect(() => parseArgs(['--max-reservations', '0'])).toThrow('--max-reservations must be a whole number')
    expect(() => parseArgs(['--port'])).toThrow('missing value for --port')
    expect(() => parseArgs(['--relay', 'x'])).toThrow('unknown option --relay')
  })
})
