/** Mesh decisions that must hold for every pair of tabs. */
import { afterEach, describe, it, expect, vi } from 'vitest'
import fc from 'fast-check'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { defaultLogger } from '@libp2p/logger'
import { backoffDelay, isDirectWebRTC, Mesh, shouldDial, withPeerId, type MeshComponents } from '../../../src/net/mesh.ts'
import { peerTable } from '../../../src/net/peer-table.ts'
import { PeerPenalties } from '../../../src/net/scoring.ts'
import { BACKOFF_JITTER, DIRECT_REDIAL_DELAY_MS } from '../../../src/net/constants.ts'
import { announceOnFirstSubscriber, announceOnListening, answerNewDialers, rebroadcastPaced } from '../../../src/net/node.ts'
import { swarmInterval } from '../../../src/net/pace.ts'
import { DISCOVERY_INTERVAL_MS } from '../../../src/net/constants.ts'

const A = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const B = '12D3KooWKdoEGVrN2HGJqYqjZt9TCZwx6S2kP6TGMDn5AxWGtpjm'
const R = '12D3KooWJuteouY1d5SYFcAUAYDVPjFD8MUBgzsdjZfBkAecCS2Y'
const circuit = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${R}/p2p-circuit`

describe('shouldDial', () => {
  it('exactly one side of every pair dials', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (x, y) => {
      fc.pre(x !== y)
      return shouldDial(x, y) !== shouldDial(y, x)
    }))
  })
})

describe('withPeerId', () => {
  it('ends every address with the target peer id, so a circuit address from identify names the target, not the relay', () => {
    const relay = '12D3KooWKzLyA5gt1qbiDEwysbAsdgaNFrTjfPqjUSwPoKqigt3s'
    const target = '12D3KooWSGXoSwEBPTxituaMmcjRiqUa9somWqyu1RYSPwhLzaeY'
    const fromIdentify = multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${relay}/p2p-circuit/webrtc`)
    const fromDiscovery = multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${relay}/p2p-circuit/webrtc/p2p/${target}`)
    const out = withPeerId([fromIdentify, fromDiscovery], target)
    expect(out.map(a => a.toString())).toEqual([fromDiscovery.toString()])
    expect(out.every(a => a.getComponents().at(-1)?.value === target)).toBe(true)
  })
})

describe('backoffDelay', () => {
  it('grows from min to max with bounded jitter', () => {
    expect(backoffDelay(1, 1000, 30_000, () => 0.5)).toBe(1000)
    expect(backoffDelay(3, 1000, 30_000, () => 0.5)).toBe(4000)
    expect(backoffDelay(20, 1000, 30_000, () => 0.5)).toBe(30_000)
    expect(backoffDelay(1, 1000, 30_000, () => 0)).toBe(Math.round(1000 * (1 - BACKOFF_JITTER)))
    expect(backoffDelay(1, 1000, 30_000, () => 1)).toBe(Math.round(1000 * (1 + BACKOFF_JITTER)))
  })
})

describe('connection classification and the peer table', () => {
  const direct = { remotePeer: peerIdFromString(B), remoteAddr: multiaddr(`${circuit}/webrtc/p2p/${B}`), limits: undefined, rtt: 3, status: 'open' as const }
  const relayed = { remotePeer: peerIdFromString(B), remoteAddr: multiaddr(`${circuit}/p2p/${B}`), limits: { bytes: 1n }, rtt: 9, status: 'open' as const }
  const toRelay = { remotePeer: peerIdFromString(R), remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${R}`), limits: undefined, rtt: 1, status: 'open' as const }

  it('only a WebRTC connection without relay limits counts as direct', () => {
    expect(isDirectWebRTC(direct)).toBe(true)
    expect(isDirectWebRTC(relayed)).toBe(false)
    expect(isDirectWebRTC({ ...direct, limits: { seconds: 1 } })).toBe(false)
  })

  it('keeps the best link per peer, hides relays, and adds gossip-only peers', () => {
    const body = { peerId: A, provider: 'wasm' as const, threads: 2, models: [], app: 'essaim/0.1.0' }
    const rows = peerTable([relayed, direct, toRelay, { ...direct, status: 'closed' as const }],
      [{ peerId: A, seq: 5, ts: 1, receivedAt: 2, body }], id => id === R)
    expect(rows.map(r => [r.peerId, r.link, r.rttMs])).toEqual([[B, 'direct-webrtc', 3], [A, 'gossip-only', undefined]])
    expect(rows[1]?.lastHeartbeat?.seq).toBe(5)
  })

  it('adds the score and the penalty of each listed peer, and nothing for peers we hold nothing against', () => {
    const body = { peerId: A, provider: 'wasm' as const, threads: 2, models: [], app: 'essaim/0.1.0' }
    const penalties = new PeerPenalties()
    penalties.fault(B, 'wrong-blob')
    const rows = peerTable([direct], [{ peerId: A, seq: 5, ts: 1, receivedAt: 2, body }], () => false,
      id => id === B ? -100 : undefined, id => penalties.reason(id))
    expect(rows.map(r => [r.peerId, r.score, r.penalty])).toEqual([[B, -100, 'wrong-blob'], [A, undefined, undefined]])
    expect('penalty' in rows[1]!).toBe(false)
  })
})

describe('a dropped direct connection', () => {
  /** A Mesh over in-memory stand-ins for the libp2p components it uses, recording the dials it makes. */
  function meshOf (self: string, known: Record<string, string[]>): { events: EventTarget, dials: string[][], stop: () => void } {
    const events = new EventTarget()
    const dials: string[][] = []
    const m = new Mesh({
      peerId: peerIdFromString(self),
      peerStore: { get: async (id: { toString: () => string }) => ({ addresses: (known[id.toString()] ?? []).map(a => ({ multiaddr: multiaddr(a) })) }) },
      connectionManager: {
        getConnections: () => [],
        openConnection: async (addrs: Array<{ toString: () => string }>) => { dials.push(addrs.map(a => a.toString())); throw new Error('not in this test') }
      },
      events,
      logger: defaultLogger()
    } as unknown as MeshComponents, { relays: [] })
    m.start()
    return { events, dials, stop: () => { m.stop() } }
  }
  const closed = (peer: string, addr: string, limits?: object): CustomEvent => new CustomEvent('connection:close', {
    detail: { remotePeer: peerIdFromString(peer), remoteAddr: multiaddr(addr), limits, status: 'closed' }
  })
  const webrtcOfB = `${circuit}/webrtc/p2p/${B}`

  it('is dialled again by the side that dials, at its /webrtc address', async () => {
    expect(shouldDial(A, B)).toBe(true)
    const a = meshOf(A, { [B]: [webrtcOfB, `${circuit}/p2p/${B}`] })
    try {
      a.events.dispatchEvent(closed(B, webrtcOfB))
      await new Promise(resolve => setTimeout(resolve, DIRECT_REDIAL_DELAY_MS + 300))
      expect(a.dials[0]).toEqual([webrtcOfB])
    } finally { a.stop() }
  })

  it('is left to the other side by the side that does not dial; a relayed connection closing dials nothing', async () => {
    const b = meshOf(B, { [A]: [`${circuit}/webrtc/p2p/${A}`] })
    const a = meshOf(A, { [B]: [webrtcOfB] })
    try {
      b.events.dispatchEvent(closed(A, `${circuit}/webrtc/p2p/${A}`))
      a.events.dispatchEvent(closed(B, `${circuit}/p2p/${B}`, { bytes: 1n }))
      await new Promise(resolve => setTimeout(resolve, DIRECT_REDIAL_DELAY_MS + 300))
      expect(b.dials).toEqual([])
      expect(a.dials).toEqual([])
    } finally { a.stop(); b.stop() }
  })
})

describe('answering a new peer that dials us', () => {
  const discovered = (id: string): CustomEvent => new CustomEvent('peer:discovery', { detail: { id: peerIdFromString(id), multiaddrs: [] } })

  it('broadcasts our addresses once for the discoveries of peers that dial us, and not for peers we dial', async () => {
    expect(shouldDial(B, A)).toBe(false)
    const events = new EventTarget()
    let broadcasts = 0
    answerNewDialers(events as never, B, () => { broadcasts++ })
    events.dispatchEvent(discovered(A))
    events.dispatchEvent(discovered(R))
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(broadcasts).toBe(1)
    const a = new EventTarget()
    let fromA = 0
    answerNewDialers(a as never, A, () => { fromA++ })
    a.dispatchEvent(discovered(B))
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(fromA).toBe(0)
  })
})

describe('announcing a new address', () => {
  it('broadcasts as soon as a transport listens (circuit and WebRTC listeners together: once), and again shortly after', async () => {
    const events = new EventTarget()
    let broadcasts = 0
    announceOnListening(events as never, () => { broadcasts++ })
    expect(broadcasts).toBe(0)
    events.dispatchEvent(new CustomEvent('transport:listening'))
    events.dispatchEvent(new CustomEvent('transport:listening'))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(broadcasts).toBe(1)
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(broadcasts).toBe(2)
  })
})

describe('rebroadcastPaced', () => {
  afterEach(() => { vi.useRealTimers() })

  it('re-broadcasts every DISCOVERY_INTERVAL_MS in a small swarm, further apart in a large one, and ends once discovery stops', async () => {
    vi.useFakeTimers()
    let started = false
    let others = 3
    let broadcasts = 0
    let counted = 0
    rebroadcastPaced({ isStarted: () => started }, () => { counted++; return others }, () => { broadcasts++ })
    // Not started yet: nothing is sent, peers are not counted (pubsub may not exist yet), and it keeps waiting.
    await vi.advanceTimersByTimeAsync(2 * DISCOVERY_INTERVAL_MS)
    expect(broadcasts).toBe(0)
    expect(counted).toBe(0)
    started = true
    await vi.advanceTimersByTimeAsync(3 * DISCOVERY_INTERVAL_MS)
    expect(broadcasts).toBe(3)
    others = 299
    const spaced = swarmInterval(299, DISCOVERY_INTERVAL_MS)
    expect(spaced).toBeGreaterThan(5 * DISCOVERY_INTERVAL_MS)
    // The broadcast already scheduled comes at the old pace, the next one at the new.
    await vi.advanceTimersByTimeAsync(DISCOVERY_INTERVAL_MS)
    expect(broadcasts).toBe(4)
    await vi.advanceTimersByTimeAsync(spaced - 1)
    expect(broadcasts).toBe(4)
    await vi.advanceTimersByTimeAsync(1)
    expect(broadcasts).toBe(5)
    started = false
    await vi.advanceTimersByTimeAsync(10 * spaced)
    expect(broadcasts).toBe(5)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('announceOnFirstSubscriber', () => {
  it('broadcasts when the topic gets its first subscriber (a broadcast before had nobody to go to), not for later ones or other topics', () => {
    const subscribers: string[] = []
    const pubsub = Object.assign(new EventTarget(), { getSubscribers: () => subscribers })
    let broadcasts = 0
    announceOnFirstSubscriber(pubsub as never, 'disc', () => { broadcasts++ })
    const change = (peer: string, topic: string, subscribe: boolean): void => {
      if (topic === 'disc') {
        if (subscribe) subscribers.push(peer)
        else subscribers.splice(subscribers.indexOf(peer), 1)
      }
      pubsub.dispatchEvent(new CustomEvent('subscription-change', { detail: { peerId: peer, subscriptions: [{ topic, subscribe }] } }))
    }
    change(R, 'essaim/presence/1', true)
    expect(broadcasts).toBe(0)
    change(R, 'disc', true)
    expect(broadcasts).toBe(1)
    change(A, 'disc', true)
    expect(broadcasts).toBe(1)
    change(A, 'disc', false)
    change(R, 'disc', false)
    expect(broadcasts).toBe(1)
    // The relay came back: again the only one to tell.
    change(R, 'disc', true)
    expect(broadcasts).toBe(2)
  })
})
