/**
 * Relay upkeep (src/net/mesh.ts) against a real relay on loopback: a relay
 * that goes away puts it in a visible "retrying" state whose delays grow
 * (backoff) up to the cap, and it reconnects once the relay is back.
 */
import { describe, it, expect } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p, type Libp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { mesh, type Mesh, type RelayStatus } from '../../../src/net/mesh.ts'
import { BACKOFF_JITTER } from '../../../src/net/constants.ts'
import { startRelay } from '../../../scripts/relay.ts'
import { until } from '../until.ts'

const MIN_MS = 100
const MAX_MS = 400


describe('relay upkeep', () => {
  it('retries an unreachable relay with growing delays up to the cap, and reconnects when it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'essaim-relay-'))
    const keyFile = join(dir, 'relay.key')
    let relay = await startRelay({ host: '127.0.0.1', port: 0, keyFile })
    const addr = relay.getMultiaddrs()[0]!
    const port = Number(addr.getComponents().find(c => c.name === 'tcp')?.value)
    let node: Libp2p<{ mesh: Mesh }> | undefined
    try {
      node = await createLibp2p({
        transports: [webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: () => false },
        services: { mesh: mesh({ relays: [multiaddr(addr.toString())], backoffMinMs: MIN_MS, backoffMaxMs: MAX_MS }) }
      })
      const seen: Array<{ at: number, status: RelayStatus }> = []
      node.services.mesh.addEventListener('relay:status', evt => { seen.push({ at: Date.now(), status: evt.detail }) })
      const state = (): string => node!.services.mesh.relayStatus()[0]!.state.status
      await until('the first connection', () => state() === 'connected', 20_000)

      await relay.stop()
      // Enough failed attempts to reach the cap (100, 200, 400, 400 ms before jitter).
      await until('five retries', () => seen.filter(s => s.status.state.status === 'retrying').length >= 5, 20_000)
      const retries = seen.flatMap(s => s.status.state.status === 'retrying' ? [{ ...s.status.state, at: s.at }] : [])
      expect(retries[0]!.error).toBe('connection to relay closed')
      expect(retries.slice(1).every(r => r.error.length > 0)).toBe(true)
      // Attempts count up, and each wait is the backoff of its attempt (jittered), never past the cap.
      const attempts = retries.map(r => r.attempt)
      expect(attempts.slice(1)).toEqual(attempts.slice(1).map((_, i) => attempts[1]! + i))
      for (const r of retries.slice(1)) {
        const wait = r.retryAt - r.at
        const base = Math.min(MAX_MS, MIN_MS * 2 ** (r.attempt - 1))
        expect(wait).toBeGreaterThanOrEqual(Math.floor(base * (1 - BACKOFF_JITTER)) - 5)
        expect(wait).toBeLessThanOrEqual(Math.ceil(MAX_MS * (1 + BACKOFF_JITTER)))
      }
      expect(retries.at(-1)!.retryAt - retries.at(-1)!.at).toBeGreaterThanOrEqual(Math.floor(MAX_MS * (1 - BACKOFF_JITTER)) - 5)

      // Same key and port: the same multiaddr is reachable again.
      relay = await startRelay({ host: '127.0.0.1', port, keyFile })
      await until('reconnection', () => state() === 'connected', 20_000)
    } finally {
      await node?.stop()
      await relay.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
