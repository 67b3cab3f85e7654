/**
 * Heartbeat validation on `essaim/presence/1`: what the gossipsub validator
 * accepts and rejects (good, bad signature, oversized, stale, garbage,
 * replayed, someone else's heartbeat, wrong kind); and how often a peer
 * beats and when it drops a silent one, as the swarm grows.
 */
import { describe, it, expect, vi, afterEach } from 'vitest'
import { defaultLogger } from '@libp2p/logger'
import type { GossipSub } from '@libp2p/gossipsub'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Message } from '@libp2p/gossipsub'
import { checkPresenceMessage, Presence } from '../../../src/net/presence.ts'
import { swarmInterval } from '../../../src/net/pace.ts'
import { libp2pKey } from '../../../src/net/node.ts'
import { generateIdentity, sign, type Identity } from '../../../src/core/identity.ts'
import { seal, signingBytes, ReplayWindow } from '../../../src/core/envelope.ts'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { BYTE_CAPS, MAX_ENVELOPE_BYTES } from '../../../src/core/constants.ts'
import type { PresenceBody } from '../../../src/core/schemas.ts'
import {
  TOPIC_PRESENCE, PRESENCE_INTERVAL_MS, PRESENCE_MAX_AGE_MS, PRESENCE_MISSED_BEATS, SWARM_MAX_INTERVAL_MS
} from '../../../src/net/constants.ts'

const NOW = 1_800_000_000_000

function peer (identity = generateIdentity()): { identity: Identity, key: ReturnType<typeof privateKeyFromRaw>, id: string } {
  const key = libp2pKey(identity)
  return { identity, key, id: peerIdFromPrivateKey(key).toString() }
}

function body (peerId: string, extra: Partial<PresenceBody> = {}): PresenceBody {
  return { peerId, provider: 'wasm', threads: 2, models: ['ab'.repeat(32)], app: 'essaim/0.1.0', ...extra }
}

/** A gossip message as gossipsub hands it to the validator (StrictSign: from + key). */
function gossip (from: ReturnType<typeof peer>, data: Uint8Array): Message {
  return { type: 'signed', from: peerIdFromPrivateKey(from.key), topic: TOPIC_PRESENCE, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: from.key.publicKey }
}

async function check (msg: Message, replay = new ReplayWindow(), now = NOW): ReturnType<typeof checkPresenceMessage> {
  return await checkPresenceMessage(msg, { now, replay })
}

/** The refusal's reason, which starts with the named error of `open()`; 'accepted' if none. */
async function reason (msg: Message): Promise<string> {
  const r = await check(msg)
  return r.ok ? 'accepted' : r.reason
}

/** A correctly signed heartbeat envelope that `seal` would refuse to make (it checks the byte cap). */
function forgeSigned (signer: Identity, heartbeat: PresenceBody): Uint8Array {
  const unsigned = { v: 1, kind: 'presence', signer: signer.publicKey, seq: 1, ts: NOW, body: heartbeat }
  return encodeCanonical({ ...unsigned, sig: sign(signer, signingBytes('presence', encodeCanonical(unsigned))) })
}

describe('presence heartbeat validation', () => {
  const a = peer()
  const b = peer()

  it('accepts a fresh heartbeat signed by its sender', async () => {
    const r = await check(gossip(a, seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW })))
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.envelope.body.threads).toBe(2)
  })

  it('the Essaim key is the libp2p peer key', () => {
    expect(a.key.publicKey.raw).toEqual(a.identity.publicKey)
  })

  it('rejects a bad signature', async () => {
    const bytes = seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW })
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1
    expect(await reason(gossip(a, bytes))).toMatch(/^BadSignatureError/)
  })

  it('rejects a heartbeat naming or signed by someone other than the gossip sender', async () => {
    expect(await check(gossip(b, seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW })))).toMatchObject({ ok: false })
    expect(await check(gossip(a, seal('presence', body(a.id), b.identity, { seq: 1, ts: NOW })))).toMatchObject({ ok: false })
    expect(await check(gossip(b, seal('presence', body(b.id), a.identity, { seq: 1, ts: NOW })))).toMatchObject({ ok: false })
  })

  it('rejects stale and far-future heartbeats', async () => {
    expect(await reason(gossip(a, seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW - PRESENCE_MAX_AGE_MS - 1 })))).toMatch(/^StaleMessageError/)
    expect(await reason(gossip(a, seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW - PRESENCE_MAX_AGE_MS })))).toBe('accepted')
    expect(await reason(gossip(a, seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW + 10 * 60_000 })))).toMatch(/^FutureMessageError/)
  })

  it('rejects a replayed heartbeat and an older sequence number', async () => {
    const replay = new ReplayWindow()
    const first = seal('presence', body(a.id), a.identity, { seq: 10, ts: NOW })
    expect((await check(gossip(a, first), replay)).ok).toBe(true)
    expect((await check(gossip(a, first), replay)).ok).toBe(false)
    expect((await check(gossip(a, seal('presence', body(a.id), a.identity, { seq: 9, ts: NOW })), replay)).ok).toBe(false)
    expect((await check(gossip(a, seal('presence', body(a.id), a.identity, { seq: 11, ts: NOW })), replay)).ok).toBe(true)
  })

  it('rejects oversized heartbeats and bodies outside the schema', async () => {
    const many = Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(64, '0'))
    expect(() => seal('presence', body(a.id, { models: many }), a.identity, { seq: 1, ts: NOW })).toThrow()
    // Signed by its sender and otherwise well formed, but past the presence cap.
    const padded = forgeSigned(a.identity, body(a.id, { app: 'x'.repeat(BYTE_CAPS.presence) }))
    expect(padded.length).toBeGreaterThan(BYTE_CAPS.presence)
    expect(await reason(gossip(a, padded))).toMatch(/^OversizedError/)
    // The same forging path gives an accepted heartbeat when the body fits.
    expect(await reason(gossip(a, forgeSigned(a.identity, body(a.id))))).toBe('accepted')
    // Past the largest cap of any kind: refused before it is parsed at all.
    expect(await reason(gossip(a, new Uint8Array(MAX_ENVELOPE_BYTES + 1).fill(0xa0)))).toMatch(/^OversizedError/)
  })

  it('rejects garbage bytes and unsigned messages without throwing', async () => {
    for (const data of [new Uint8Array(0), new Uint8Array([0xff]), new TextEncoder().encode('{"kind":"presence"}'), crypto.getRandomValues(new Uint8Array(300))]) {
      expect(await reason(gossip(a, data))).toMatch(/^(InvalidEnvelopeError|OversizedError): ./)
    }
    expect(await check({ type: 'unsigned', topic: TOPIC_PRESENCE, data: seal('presence', body(a.id), a.identity, { seq: 1, ts: NOW }) })).toMatchObject({ ok: false, reason: 'unsigned gossip message' })
  })
})

/** The part of gossipsub Presence uses: validators, message events, publishing. */
class FakePubsub extends EventTarget {
  readonly topicValidators = new Map<string, (peer: unknown, msg: Message) => Promise<unknown>>()
  subscribe (): void {}
  unsubscribe (): void {}
  async publish (): Promise<void> {}

  /** A heartbeat from `from` as gossipsub delivers it: validated, then handed to listeners if accepted. */
  async deliver (from: ReturnType<typeof peer>, seq: number, ts: number): Promise<void> {
    const msg = gossip(from, seal('presence', body(from.id), from.identity, { seq, ts }))
    expect(await this.topicValidators.get(TOPIC_PRESENCE)!(undefined, msg)).toBe('accept')
    this.dispatchEvent(new CustomEvent('message', { detail: msg }))
  }
}

describe('presence as the swarm grows', () => {
  afterEach(() => { vi.useRealTimers() })

  /** A started Presence; `beats` counts its heartbeats as they are begun (signing is asynchronous). */
  function started (now: () => number): { presence: Presence, pubsub: FakePubsub, beats: () => number, closed: string[] } {
    const self = peer()
    const pubsub = new FakePubsub()
    const closed: string[] = []
    const presence = new Presence({
      peerId: peerIdFromPrivateKey(self.key),
      pubsub: pubsub as unknown as GossipSub,
      connectionManager: { closeConnections: async (id: { toString: () => string }) => { closed.push(id.toString()) } },
      logger: defaultLogger()
    }, { identity: self.identity, describe: () => ({ provider: 'wasm', threads: 1, models: [], app: 'essaim/0.1.0' }), now })
    const beat = vi.spyOn(presence, 'beat')
    presence.start()
    presence.afterStart()
    return { presence, pubsub, beats: () => beat.mock.calls.length, closed }
  }

  it('a peer beats at the base interval alone and further apart once it lists many peers', async () => {
    vi.useFakeTimers({ now: NOW })
    const { presence, pubsub, beats } = started(Date.now)
    expect(beats()).toBe(1)
    await vi.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS)
    expect(beats()).toBe(2)
    const others = Array.from({ length: 150 }, () => peer())
    for (const [i, o] of others.entries()) await pubsub.deliver(o, i + 1, Date.now())
    expect(presence.live()).toHaveLength(150)
    const spaced = swarmInterval(150, PRESENCE_INTERVAL_MS)
    expect(presence.intervalNow).toBe(spaced)
    expect(spaced).toBeGreaterThan(2 * PRESENCE_INTERVAL_MS)
    // The beat already scheduled comes at the base interval; the one after it, at the new spacing.
    await vi.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS)
    expect(beats()).toBe(3)
    await vi.advanceTimersByTimeAsync(spaced - 1)
    expect(beats()).toBe(3)
    await vi.advanceTimersByTimeAsync(1)
    expect(beats()).toBe(4)
    presence.stop()
    await vi.advanceTimersByTimeAsync(SWARM_MAX_INTERVAL_MS)
    expect(beats()).toBe(4)
  })

  it('a silent peer is dropped after PRESENCE_MISSED_BEATS of its own spacing, or of ours when that is longer or unknown', async () => {
    let now = NOW
    const { presence, pubsub } = started(() => now)
    const slow = peer()
    const once = peer()
    const gap = 10 * PRESENCE_INTERVAL_MS
    await pubsub.deliver(slow, 1, now)
    now += gap
    await pubsub.deliver(slow, 2, now)
    await pubsub.deliver(once, 1, now)
    const listed = (): string[] => presence.live().map(h => h.peerId).sort()
    // Silent for longer than three of our intervals: the peer seen once goes, the one that beats every `gap` stays.
    now += PRESENCE_MISSED_BEATS * PRESENCE_INTERVAL_MS + 1
    expect(listed()).toEqual([slow.id])
    now += PRESENCE_MISSED_BEATS * gap - PRESENCE_MISSED_BEATS * PRESENCE_INTERVAL_MS - 1
    expect(listed()).toEqual([slow.id])
    now += 1
    expect(listed()).toEqual([])
    presence.stop()
  })

  it('a stall of our own page is not counted as the peers\' silence', async () => {
    vi.useFakeTimers({ now: NOW })
    const { presence, pubsub } = started(Date.now)
    const a = peer()
    const b = peer()
    await pubsub.deliver(a, 1, Date.now())
    await pubsub.deliver(b, 1, Date.now())
    // Our page stalls for 10 s (the clock moves on, no timer runs), then the overdue timer runs first.
    vi.setSystemTime(Date.now() + 10_000)
    await vi.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS / 2)
    expect(presence.live()).toHaveLength(2)
    // Silent while we listen: dropped once PRESENCE_MISSED_BEATS intervals have passed.
    await vi.advanceTimersByTimeAsync((PRESENCE_MISSED_BEATS + 1) * PRESENCE_INTERVAL_MS)
    expect(presence.live()).toHaveLength(0)
    presence.stop()
  })

  it('closes the connections of a dropped peer only if it stays silent as long again; one heard again keeps them', async () => {
    vi.useFakeTimers({ now: NOW })
    const { presence, pubsub, closed } = started(Date.now)
    const gone = peer()
    const slow = peer()
    await pubsub.deliver(gone, 1, Date.now())
    await pubsub.deliver(slow, 1, Date.now())
    const limit = PRESENCE_MISSED_BEATS * PRESENCE_INTERVAL_MS
    await vi.advanceTimersByTimeAsync(limit + PRESENCE_INTERVAL_MS)
    expect(presence.live()).toEqual([])
    expect(closed).toEqual([])
    await pubsub.deliver(slow, 2, Date.now())
    await vi.advanceTimersByTimeAsync(limit)
    expect(closed).toEqual([gone.id])
    expect(presence.live().map(h => h.peerId)).toEqual([slow.id])
    presence.stop()
  })
})
