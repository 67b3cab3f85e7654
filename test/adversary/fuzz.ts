/**
 * Hostile inputs for the fuzz attack: gossip payloads for every Essaim topic
 * and raw frames for every stream protocol, each of which a correct peer must
 * refuse. Built from valid envelopes the adversary signs itself, so the
 * mutations sit right next to what would be accepted: flipped bytes,
 * truncations, the wrong kind for the topic, a valid envelope published by
 * someone else than its signer (forged), stale timestamps, oversized and
 * random bytes, and malformed CBOR.
 */
import { generateIdentity } from '../../src/core/identity.ts'
import { seal } from '../../src/core/envelope.ts'
import { encodeCanonical } from '../../src/core/cbor.ts'
import { sha256 } from '../../src/core/bytes.ts'
import { TOPIC_ATTEST, TOPIC_JOBS, TOPIC_LOG, TOPIC_PRESENCE } from '../../src/net/constants.ts'
import { lengthPrefixed, type Adversary } from './peer.ts'

export const FUZZ_TOPICS = [TOPIC_PRESENCE, TOPIC_JOBS, TOPIC_ATTEST, TOPIC_LOG] as const

function randomBytes (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

function pick<T> (xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!
}

/** Valid envelopes signed by the adversary (and by a stranger), per kind, to mutate. */
export interface FuzzSamples { own: { presence: Uint8Array, job: Uint8Array, attestation: Uint8Array }, stranger: Uint8Array[], stale: Uint8Array[] }

function samples (adv: Adversary): FuzzSamples {
  const h = sha256(new Uint8Array([1]))
  const stranger = generateIdentity()
  const now = Date.now()
  const presence = { peerId: adv.peerId, provider: 'wasm' as const, threads: 1, models: [], app: 'essaim/0.1.0' }
  const job = { model: { id: 'digits', sha256: 'b'.repeat(64) }, shards: [{ inputHash: h, bytes: 10 }], policy: { replicas: 2, quorum: 2, compare: { kind: 'argmax' as const }, canaryRate: 0, deadline: now + 3600_000 } }
  const attestation = { jobId: h, shard: 0, inputHash: h, outputHash: h, provider: 'wasm' as const, ortVersion: '1.30.0', threads: 1, ms: 1 }
  const own = {
    presence: adv.seal('presence', presence),
    job: adv.seal('job', job),
    attestation: adv.seal('attestation', attestation)
  }
  return {
    own,
    stranger: [
      seal('presence', { ...presence }, stranger, { seq: now, ts: now }),
      seal('job', job, stranger, { seq: now, ts: now }),
      seal('attestation', attestation, stranger, { seq: now, ts: now })
    ],
    stale: [
      seal('presence', presence, adv.identity, { seq: 1, ts: now - 3 * 24 * 3600_000 }),
      seal('attestation', attestation, adv.identity, { seq: 1, ts: now - 3 * 24 * 3600_000 }),
      seal('job', job, adv.identity, { seq: 1, ts: now + 10 * 60_000 })
    ]
  }
}

/** Which envelope kinds a topic accepts (anything else on it is the wrong kind). */
const ACCEPTS: Record<string, string[]> = {
  [TOPIC_PRESENCE]: ['presence'],
  [TOPIC_JOBS]: ['job'],
  [TOPIC_ATTEST]: ['attestation'],
  [TOPIC_LOG]: ['receipt', 'tree-head']
}

/** One hostile gossip payload for `topic`, and what kind of hostile it is. */
export function gossipPayload (adv: Adversary, topic: string, s = samples(adv)): { kind: string, bytes: Uint8Array } {
  const valid = Object.entries(s.own)
  const mine = valid.filter(([k]) => ACCEPTS[topic]!.includes(k)).map(([, b]) => b)
  const base: Uint8Array = mine[0] ?? s.own.attestation
  switch (Math.floor(Math.random() * 8)) {
    case 0: return { kind: 'random', bytes: randomBytes(Math.floor(Math.random() * 2048)) }
    case 1: { const b = base.slice(); const i = Math.floor(Math.random() * b.length); b[i] = b[i]! ^ (1 << Math.floor(Math.random() * 8)); return { kind: 'bit-flip', bytes: b } }
    case 2: return { kind: 'truncated', bytes: base.subarray(0, Math.floor(Math.random() * base.length)) }
    case 3: { const wrong = valid.filter(([k]) => !ACCEPTS[topic]!.includes(k)); return { kind: 'wrong-kind', bytes: pick(wrong)[1] } }
    case 4: return { kind: 'forged', bytes: pick(s.stranger) }
    case 5: return { kind: 'stale', bytes: pick(s.stale) }
    case 6: return { kind: 'oversized', bytes: encodeCanonical({ v: 1, kind: 'attestation', body: randomBytes(40_000), sig: randomBytes(64) }) }
    default: return { kind: 'malformed-cbor', bytes: Uint8Array.from([0xbf, 0xff, 0x1f, ...randomBytes(32)]) }
  }
}

export { samples as fuzzSamples }

/** One hostile work-protocol exchange (raw chunks written to `/essaim/work/1.0.0`). */
export function workFrames (jobId: Uint8Array | undefined): { kind: string, chunks: Uint8Array[] } {
  switch (Math.floor(Math.random() * 7)) {
    case 0: return { kind: 'random', chunks: [randomBytes(1 + Math.floor(Math.random() * 512))] }
    case 1: return { kind: 'huge-length-prefix', chunks: [lengthPrefixed(randomBytes(16), 2 ** 31)] }
    case 2: return { kind: 'malformed-cbor', chunks: [lengthPrefixed(Uint8Array.from([0xa3, 0x61, 0x61, 0xff, ...randomBytes(8)]))] }
    case 3: return { kind: 'wrong-schema', chunks: [lengthPrefixed(encodeCanonical({ job: randomBytes(32), capacity: 999, results: 'x', extra: 1 }))] }
    case 4: return { kind: 'unknown-job', chunks: [lengthPrefixed(encodeCanonical({ job: randomBytes(32), capacity: 8, results: [] }))] }
    case 5: return {
      kind: 'forged-results',
      chunks: [lengthPrefixed(encodeCanonical({
        job: jobId ?? randomBytes(32),
        capacity: 0,
        results: [{ lease: Math.floor(Math.random() * 1000), output: randomBytes(64), attestation: randomBytes(200), error: null }]
      }))]
    }
    default: return { kind: 'truncated', chunks: [lengthPrefixed(randomBytes(100)).subarray(0, 40)] }
  }
}

/** One hostile blob-protocol request (raw chunks written to `/essaim/blob/1.0.0`). */
export function blobFrames (): { kind: string, chunks: Uint8Array[] } {
  switch (Math.floor(Math.random() * 4)) {
    case 0: return { kind: 'random', chunks: [randomBytes(1 + Math.floor(Math.random() * 128))] }
    case 1: return { kind: 'huge-length-prefix', chunks: [lengthPrefixed(randomBytes(8), 2 ** 30)] }
    case 2: return { kind: 'wrong-size-request', chunks: [lengthPrefixed(randomBytes(33))] }
    default: return { kind: 'unknown-hash', chunks: [lengthPrefixed(randomBytes(32))] }
  }
}
