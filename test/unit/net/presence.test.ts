/**
 * Heartbeat validation on `essaim/presence/1`: what the gossipsub validator
 * accepts and rejects (good, bad signature, oversized, stale, garbage,
 * replayed, someone else's heartbeat, wrong kind).
 */
import { describe, it, expect } from 'vitest'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Message } from '@libp2p/gossipsub'
import { checkPresenceMessage } from '../../../src/net/presence.ts'
import { libp2pKey } from '../../../src/net/node.ts'
import { generateIdentity, sign, type Identity } from '../../../src/core/identity.ts'
import { seal, signingBytes, ReplayWindow } from '../../../src/core/envelope.ts'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { BYTE_CAPS, MAX_ENVELOPE_BYTES } from '../../../src/core/constants.ts'
import type { PresenceBody } from '../../../src/core/schemas.ts'
import { TOPIC_PRESENCE, PRESENCE_MAX_AGE_MS } from '../../../src/net/constants.ts'

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
