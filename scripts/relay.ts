/**
 * The Essaim relay: a stock js-libp2p node that browsers reach over
 * WebSockets to reserve a circuit-relay-v2 slot. Tabs use it only for WebRTC
 * signalling (SDP/ICE through the relayed circuit) and for finding each other
 * (the generic libp2p pubsub peer-discovery topic, which it forwards). It has
 * no Essaim logic: it never subscribes to Essaim topics and can go away once
 * the mesh has formed.
 *
 * Usage: npm run relay -- [--host 127.0.0.1] [--port 9090] [--max-reservations 256]
 *        [--key-file .cache/relay.key]   (a fixed key keeps the multiaddr stable across restarts)
 * Prints one line `relay <multiaddr>` per listening address, then runs until stopped.
 */
import './node22-polyfills.ts'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createLibp2p, type Libp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export interface RelayOptions {
  host: string
  port: number
  maxReservations: number
  keyFile?: string
}

export const RELAY_DEFAULTS: RelayOptions = { host: '127.0.0.1', port: 9090, maxReservations: 256 }

/** New connections accepted per second from one host. */
const INBOUND_PER_HOST_PER_S = 32

/** Loads the relay key from `file`, creating it on first use. */
async function loadKey (file: string | undefined): Promise<PrivateKey> {
  if (file === undefined) return await generateKeyPair('Ed25519')
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const key = await generateKeyPair('Ed25519')
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 })
    return key
  }
}

/** Starts a relay; resolves once it listens. */
export async function startRelay (options: Partial<RelayOptions> = {}): Promise<Libp2p> {
  const opts = { ...RELAY_DEFAULTS, ...options }
  return await createLibp2p({
    privateKey: await loadKey(opts.keyFile),
    addresses: { listen: [`/ip4/${opts.host}/tcp/${opts.port}/ws`] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The relay talks to whoever reaches it; it dials no one.
    connectionGater: { denyDialMultiaddr: () => false },
    connectionManager: {
      maxConnections: opts.maxReservations * 2 + 64,
      // Tabs behind one address (a classroom or office NAT, a phone carrier's, one
      // machine) open the link together; libp2p's default of 5 new connections per
      // second per host made the sixth wait out a refusal and a backoff.
      inboundConnectionThreshold: INBOUND_PER_HOST_PER_S
    },
    peerDiscovery: [pubsubPeerDiscovery({ listenOnly: true })],
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: opts.maxReservations,
          // Signalling needs little: 10 minutes and 1 MiB per relayed circuit.
          defaultDurationLimit: 10 * 60_000,
          defaultDataLimit: BigInt(1 << 20)
        }
      }),
      // Forwards the generic peer-discovery topic so tabs learn each other's addresses.
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        doPX: false,
        // No IP colocation penalty: tabs share addresses (one machine, an office or
        // a carrier NAT), and gossipsub keeps departed peers' IPs for an hour, so
        // past ten tabs from one address every new one scored below zero and was
        // never sent the discovery topic: it could not find anybody.
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  })
}

/**
 * Reads the relay's command-line options.
 * @throws {Error} naming the option, for an unknown option, a missing value or a number out of range.
 */
export function parseArgs (argv: string[]): Partial<RelayOptions> {
  const out: Partial<RelayOptions> = {}
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    if (value === undefined) throw new Error(`missing value for ${flag ?? ''}`)
    switch (flag) {
      case '--host': out.host = value; break
      case '--port': out.port = intOption('--port', value, 0, 65535); break
      case '--max-reservations': out.maxReservations = intOption('--max-reservations', value, 1, 1_000_000); break
      case '--key-file': out.keyFile = value; break
      default: throw new Error(`unknown option ${flag ?? ''} (known: --host --port --max-reservations --key-file)`)
    }
  }
  return out
}

/**
 * A whole number option within [min, max]. `Number.parseInt` alone would
 * let "abc" through as NaN, which the reservation limit then never reaches.
 * @throws {Error} naming the option when `value` is not such a number.
 */
export function intOption (flag: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(n >= min && n <= max)) throw new Error(`${flag} must be a whole number from ${min} to ${max} (got "${value}")`)
  return n
}

async function main (): Promise<void> {
  const node = await startRelay(parseArgs(process.argv.slice(2)))
  for (const ma of node.getMultiaddrs()) console.log(`relay ${ma.toString()}`)
  const stop = (): void => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch(err => { console.error(`relay: ${(err as Error).message}`); process.exit(1) })
}
