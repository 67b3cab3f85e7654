/**
 * Signed envelopes (src/core/envelope.ts): round trip for every kind, and
 * each refusal `open()` promises — bad signature, oversized, stale, future,
 * garbage, non-canonical, unknown version, replay, cross-kind — with its
 * named error, never a throw.
 */
import { describe, it, expect, vi } from 'vitest'
import { encode, rfc8949EncodeOptions } from 'cborg'
import { seal, sealAsync, open, openAsync, signingBytes, ReplayWindow, type Envelope } from '../../../src/core/envelope.ts'
import { encodeCanonical, decodeCanonical } from '../../../src/core/cbor.ts'
import { sha256, bytesEqual, concat, utf8 } from '../../../src/core/bytes.ts'
import { forgetVerifications, sign, verifySignature } from '../../../src/core/identity.ts'
import { BYTE_CAPS, type Kind } from '../../../src/core/constants.ts'
import { CoreError, OversizedError, SchemaError } from '../../../src/core/errors.ts'
import { MAX_MODEL_BYTES, type Bodies, type PresenceBody } from '../../../src/core/schemas.ts'
import { JUNK_BYTES, NOT_BYTES } from '../vectors/junk.ts'
import { ALL_KINDS, NOW, PEER_ID, maxBodies, sampleBodies, who } from './fixtures.ts'

// noble's verify, counted (and otherwise unchanged): to see when a check is answered from the memo.
const nobleCalls = vi.hoisted(() => ({ verify: 0 }))
vi.mock('@noble/curves/ed25519.js', async original => {
  const m = await original<typeof import('@noble/curves/ed25519.js')>()
  const verify: typeof m.ed25519.verify = (...args) => { nobleCalls.verify++; return m.ed25519.verify(...args) }
  return { ...m, ed25519: { ...m.ed25519, verify } }
})

const alice = who(1)
const bodies = sampleBodies()
const presence = (extra: Partial<PresenceBody> = {}): PresenceBody => ({ ...bodies.presence, ...extra })

function errorName (bytes: unknown, options: Parameters<typeof open>[1] = {}): string {
  const r = open(bytes as Uint8Array, options)
  if (r.ok) return 'accepted'
  expect(r.error).toBeInstanceOf(CoreError)
  expect(r.error.message.length).toBeGreaterThan(0)
  return r.error.name
}

/** An envelope with arbitrary fields, signed over `signKind`'s domain (default: its own kind). */
function forge (fields: Record<string, unknown>, signKind?: Kind): Uint8Array {
  const unsigned = { v: 1, signer: alice.publicKey, seq: 1, ts: NOW, ...fields }
  const sig = sign(alice, signingBytes((signKind ?? fields.kind) as Kind, encodeCanonical(unsigned)))
  return encodeCanonical({ ...unsigned, sig })
}

describe('seal and open', () => {
  for (const kind of ALL_KINDS) {
    it(`round-trips a ${kind} envelope`, () => {
      const bytes = seal(kind, bodies[kind], alice, { seq: 7, ts: NOW })
      const r = open(bytes, { kinds: [kind], now: NOW, maxAgeMs: 1000, maxFutureMs: 1000 })
      expect(r.ok).toBe(true)
      if (!r.ok) return
      const e = r.envelope as Envelope
      expect(e.kind).toBe(kind)
      expect(e.v).toBe(1)
      expect(e.seq).toBe(7)
      expect(e.ts).toBe(NOW)
      expect(e.signer).toEqual(alice.publicKey)
      expect(e.body).toEqual(bodies[kind])
      expect(e.sig.length).toBe(64)
      // Plain, owned Uint8Arrays on Node too (cborg would hand out Buffers and pool views).
      for (const b of [bytes, e.signer, e.sig, e.id]) expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype)
    })

    it(`a ${kind} body at every schema maximum still fits the ${BYTE_CAPS[kind]}-byte cap`, () => {
      const bytes = seal(kind, maxBodies()[kind], alice, { seq: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER })
      expect(bytes.length).toBeLessThanOrEqual(BYTE_CAPS[kind])
      expect(open(bytes).ok).toBe(true)
    })
  }

  it('is deterministic: same input, same bytes (Ed25519 is deterministic, CBOR canonical)', () => {
    const a = seal('presence', presence(), alice, { seq: 1, ts: NOW })
    const b = seal('presence', { app: 'essaim/0.1.0', models: bodies.presence.models, threads: 4, provider: 'wasm', peerId: PEER_ID }, alice, { seq: 1, ts: NOW })
    expect(a).toEqual(b)
  })

  it('id is sha256 of the canonical unsigned map, and the signature covers the kind tag', () => {
    const bytes = seal('presence', presence(), alice, { seq: 1, ts: NOW })
    const r = open(bytes)
    if (!r.ok) throw r.error
    const unsigned = encodeCanonical({ v: 1, kind: 'presence', signer: alice.publicKey, seq: 1, ts: NOW, body: presence() })
    expect(r.envelope.id).toEqual(sha256(unsigned))
    expect(signingBytes('presence', unsigned)).toEqual(concat(utf8('essaim/v1/presence'), unsigned))
    expect(r.envelope.sig).toEqual(sign(alice, signingBytes('presence', unsigned)))
  })

  it('splicing the sig entry in and out gives the bytes encoding would, at every integer width of seq and ts', () => {
    // Each width of CBOR unsigned integer: inline, 1, 2, 4 and 8 bytes after the head.
    const widths = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]
    for (const kind of ALL_KINDS) {
      for (const seq of widths) {
        for (const ts of [0, 24, 65_536, NOW, Number.MAX_SAFE_INTEGER]) {
          const body = bodies[kind]
          const bytes = seal(kind, body, alice, { seq, ts })
          const unsigned = encodeCanonical({ v: 1, kind, signer: alice.publicKey, seq, ts, body })
          const sig = sign(alice, signingBytes(kind, unsigned))
          expect(bytes).toEqual(encodeCanonical({ v: 1, kind, signer: alice.publicKey, seq, ts, body, sig }))
          const r = open(bytes)
          if (!r.ok) throw r.error
          expect(r.envelope.id).toEqual(sha256(unsigned))
        }
      }
    }
  })

  it('seal refuses bodies outside the schema and oversized envelopes', () => {
    const throwsName = (f: () => unknown): string => { try { f(); return 'no throw' } catch (e) { return (e as Error).name } }
    expect(throwsName(() => seal('presence', presence({ threads: 0 }), alice, { seq: 1, ts: NOW }))).toBe('SchemaError')
    expect(throwsName(() => seal('presence', { ...presence(), extra: 1 } as PresenceBody, alice, { seq: 1, ts: NOW }))).toBe('SchemaError')
    expect(throwsName(() => seal('presence', presence(), alice, { seq: -1, ts: NOW }))).toBe('SchemaError')
    expect(throwsName(() => seal('presence', presence(), alice, { seq: 1, ts: 1.5 }))).toBe('SchemaError')
    expect(throwsName(() => seal('nope' as Kind, presence() as never, alice, { seq: 1, ts: NOW }))).toBe('SchemaError')
    expect(throwsName(() => seal('presence', presence(), { seed: new Uint8Array(3), publicKey: alice.publicKey }, { seq: 1, ts: NOW }))).toBe('InvalidKeyError')
    expect(new SchemaError('x').name).toBe('SchemaError')
    expect(new OversizedError('x')).toBeInstanceOf(Error)
  })
})

describe('open refuses', () => {
  const good = seal('presence', presence(), alice, { seq: 1, ts: NOW })

  it('a flipped bit anywhere (bad signature or malformed, never accepted)', () => {
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0, 3, 7]) {
        const bad = good.slice()
        bad[i] = bad[i]! ^ (1 << bit)
        expect(errorName(bad)).not.toBe('accepted')
      }
    }
  })

  it('a signature of the right shape by the wrong key or over other content', () => {
    const bytes = seal('presence', presence(), alice, { seq: 1, ts: NOW })
    const bad = bytes.slice()
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1
    expect(errorName(bad)).toBe('BadSignatureError')
    const unsigned = { v: 1, kind: 'presence', signer: alice.publicKey, seq: 1, ts: NOW, body: presence() }
    const other = sign(who(2), signingBytes('presence', encodeCanonical(unsigned)))
    expect(errorName(encodeCanonical({ ...unsigned, sig: other }))).toBe('BadSignatureError')
    expect(errorName(forge({ kind: 'presence', body: presence(), seq: 2 }))).toBe('accepted')
  })

  it('an envelope over its kind\'s cap, and anything over the global cap, before parsing', () => {
    expect(errorName(new Uint8Array(BYTE_CAPS.job + 1).fill(0xa0))).toBe('OversizedError')
    // A presence envelope padded past 5 KiB with an extra-long app string: cap is checked before the schema.
    expect(errorName(forge({ kind: 'presence', body: presence({ app: 'x'.repeat(BYTE_CAPS.presence) }) }))).toBe('OversizedError')
  })

  it('stale and far-future envelopes, when the caller sets limits', () => {
    const old = seal('presence', presence(), alice, { seq: 1, ts: NOW - 30_001 })
    expect(errorName(old, { now: NOW, maxAgeMs: 30_000 })).toBe('StaleMessageError')
    expect(errorName(old, { now: NOW, maxAgeMs: 30_001 })).toBe('accepted')
    expect(errorName(old, { now: NOW })).toBe('accepted')
    const ahead = seal('presence', presence(), alice, { seq: 1, ts: NOW + 10_000 })
    expect(errorName(ahead, { now: NOW, maxFutureMs: 5_000 })).toBe('FutureMessageError')
    expect(errorName(ahead, { now: NOW, maxFutureMs: 10_000 })).toBe('accepted')
  })

  it('every shared junk input, with a named error', () => {
    for (const [why, bytes] of JUNK_BYTES) {
      const name = errorName(bytes)
      expect([why, name]).toEqual([why, expect.stringMatching(/^(InvalidEnvelopeError|OversizedError)$/)])
    }
    for (const value of NOT_BYTES) expect(errorName(value)).toBe('InvalidEnvelopeError')
  })

  it('validly signed but non-canonical encodings (key order, integer width)', () => {
    const unsigned = { v: 1, kind: 'presence', signer: alice.publicKey, seq: 1, ts: NOW, body: presence() }
    const sig = sign(alice, signingBytes('presence', encodeCanonical(unsigned)))
    const reversed = encode({ ...unsigned, sig }, { ...rfc8949EncodeOptions, mapSorter: (a, b) => -rfc8949EncodeOptions.mapSorter!(a, b) })
    expect(decodeCanonical(reversed, 1 << 20).ok).toBe(false)
    expect(errorName(reversed)).toBe('InvalidEnvelopeError')
  })

  it('wrong envelope shape: missing, extra or mistyped fields, unknown version or kind', () => {
    const body = presence()
    expect(errorName(forge({ kind: 'presence', body, extra: 1 }))).toBe('InvalidEnvelopeError')
    expect(errorName(forge({ kind: 'presence', body, v: 2 }))).toBe('UnknownVersionError')
    expect(errorName(forge({ kind: 'presence', body, v: '1' }))).toBe('UnknownVersionError')
    expect(errorName(forge({ kind: 'gossip', body }, 'presence'))).toBe('InvalidEnvelopeError')
    expect(errorName(forge({ kind: 'presence', body, seq: -1 }))).toBe('InvalidEnvelopeError')
    expect(errorName(forge({ kind: 'presence', body, ts: 1.5 }))).toBe('InvalidEnvelopeError')
    expect(errorName(forge({ kind: 'presence', body, signer: new Uint8Array(31) }))).toBe('InvalidEnvelopeError')
    expect(errorName(forge({ kind: 'presence', body: { ...body, threads: 257 } }))).toBe('SchemaError')
    expect(errorName(forge({ kind: 'presence', body: { ...body, peerId: '0OIl' } }))).toBe('SchemaError')
    expect(errorName(forge({ kind: 'presence', body: { ...body, models: ['AB'.repeat(32)] } }))).toBe('SchemaError')
    const { app: _app, ...missing } = body
    expect(errorName(forge({ kind: 'presence', body: missing }))).toBe('SchemaError')
  })
})

describe('replay and cross-kind', () => {
  it('a re-sent envelope is refused by the replay window; a later seq is not', () => {
    const replay = new ReplayWindow()
    const first = seal('presence', presence(), alice, { seq: 10, ts: NOW })
    expect(errorName(first, { replay })).toBe('accepted')
    expect(errorName(first, { replay })).toBe('ReplayError')
    expect(errorName(seal('presence', presence(), alice, { seq: 9, ts: NOW }), { replay })).toBe('ReplayError')
    expect(errorName(seal('presence', presence(), alice, { seq: 11, ts: NOW }), { replay })).toBe('accepted')
    // Another signer, or another kind of the same signer, has its own sequence.
    expect(errorName(seal('presence', presence(), who(2), { seq: 1, ts: NOW }), { replay })).toBe('accepted')
    expect(errorName(seal('tree-head', bodies['tree-head'], alice, { seq: 1, ts: NOW }), { replay })).toBe('accepted')
  })

  it('a forged envelope does not burn the signer\'s sequence numbers', () => {
    const replay = new ReplayWindow()
    const real = seal('presence', presence(), alice, { seq: 5, ts: NOW })
    const forged = real.slice()
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 1
    expect(errorName(forged, { replay })).toBe('BadSignatureError')
    expect(errorName(real, { replay })).toBe('accepted')
  })

  it('a signature made for another kind is refused, whichever way it is relabelled', () => {
    // Signed over the attestation domain but labelled presence.
    expect(errorName(forge({ kind: 'presence', body: presence() }, 'attestation'))).toBe('BadSignatureError')
    // A genuine tree-head envelope relabelled as a receipt: the kind is inside the signed map.
    const th = open(seal('tree-head', bodies['tree-head'], alice, { seq: 1, ts: NOW }))
    if (!th.ok) throw th.error
    const relabelled = encodeCanonical({ v: 1, kind: 'verdict', signer: alice.publicKey, seq: 1, ts: NOW, body: bodies.verdict, sig: th.envelope.sig })
    expect(errorName(relabelled)).toBe('BadSignatureError')
  })

  it('a kind the caller did not ask for is refused with UnexpectedKindError', () => {
    const verdict = seal('verdict', bodies.verdict, alice, { seq: 1, ts: NOW })
    expect(errorName(verdict, { kinds: ['presence'] })).toBe('UnexpectedKindError')
    expect(errorName(verdict, { kinds: ['presence', 'verdict'] })).toBe('accepted')
  })

  it('the window stays bounded (LRU over signers) and supports an out-of-order window', () => {
    const lru = new ReplayWindow({ maxSigners: 3 })
    for (let i = 0; i < 10; i++) expect(lru.check({ kind: 'presence', signer: new Uint8Array(32).fill(i), seq: 1 })).toBe(true)
    expect(lru.size).toBe(3)
    const w = new ReplayWindow({ window: 4 })
    const at = (seq: number): boolean => w.check({ kind: 'attestation', signer: alice.publicKey, seq })
    expect([at(10), at(8), at(8), at(9), at(10), at(6), at(7), at(11), at(7), at(12)]).toEqual([true, true, false, true, false, false, true, true, false, true])
    expect(() => new ReplayWindow({ window: -1 })).toThrow(RangeError)
    expect(() => new ReplayWindow({ maxSigners: 0 })).toThrow(RangeError)
  })
})

describe('every body kind has its own strict schema', () => {
  const cases: Array<[Kind, (b: Bodies) => unknown]> = [
    ['job', b => ({ ...b.job, policy: { ...b.job.policy, quorum: 3 } })],
    ['job', b => ({ ...b.job, shards: [] })],
    ['job', b => ({ ...b.job, policy: { ...b.job.policy, compare: { kind: 'allclose', atol: -1, rtol: 0 } } })],
    ['job', b => ({ ...b.job, policy: { ...b.job.policy, compare: { kind: 'exact', atol: 0 } } })],
    ['job', b => ({ ...b.job, policy: { ...b.job.policy, compare: { kind: 'median' } } })],
    ['job', b => ({ ...b.job, policy: { ...b.job.policy, canaryRate: 1.5 } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, sha256: 'x'.repeat(64) } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, bytes: 0 } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, bytes: MAX_MODEL_BYTES + 1 } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, bytes: 1.5 } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, bytes: null } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, bytes: 10, licence: 'mit' } })],
    ['job', b => ({ ...b.job, model: { ...b.job.model, size: 10 } })],
    ['attestation', b => ({ ...b.attestation, jobId: new Uint8Array(31) })],
    ['attestation', b => ({ ...b.attestation, provider: 'cuda' })],
    ['attestation', b => ({ ...b.attestation, ms: -1 })],
    ['verdict', b => ({ ...b.verdict, credited: [b.verdict.credited[0]!, b.verdict.credited[0]!] })],
    ['verdict', b => ({ ...b.verdict, rejected: [b.verdict.credited[0]!] })],
    ['tree-head', b => ({ ...b['tree-head'], size: -1 })],
    ['tree-head', b => ({ ...b['tree-head'], root: 'ab'.repeat(32) })],
    ['tree-head', b => ({ size: b['tree-head'].size, root: b['tree-head'].root })],
    ['tree-head', b => ({ ...b['tree-head'], prev: { ...b['tree-head'].prev!, size: b['tree-head'].size + 1 } })],
    ['tree-head', b => ({ ...b['tree-head'], prev: { size: 1, root: b['tree-head'].root } })],
    ['tree-head', b => ({ ...b['tree-head'], prev: { ...b['tree-head'].prev!, consistency: Array.from({ length: 65 }, () => b['tree-head'].root) } })],
    ['receipt', b => ({ ...b.receipt, proof: [new Uint8Array(33)] })],
    ['receipt', b => ({ ...b.receipt, verdict: new Uint8Array(BYTE_CAPS.verdict + 1) })]
  ]
  for (const [kind, mutate] of cases) {
    it(`${kind}: ${JSON.stringify(mutate(sampleBodies()), (_k, v: unknown) => v instanceof Uint8Array ? `<${v.length} bytes>` : v).slice(0, 90)}…`, () => {
      expect(errorName(forge({ kind, body: mutate(sampleBodies()) }))).toBe('SchemaError')
    })
  }

  for (const kind of ALL_KINDS) {
    it(`${kind}: an unknown field, at the top of the body or in a nested record, is refused even when validly signed`, () => {
      const body = sampleBodies()[kind] as unknown as Record<string, unknown>
      expect(errorName(forge({ kind, body }))).toBe('accepted')
      expect(errorName(forge({ kind, body: { ...body, note: 'hi' } }))).toBe('SchemaError')
      const nested = Object.entries(body).find(([, v]) => v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v))
      if (nested !== undefined) expect(errorName(forge({ kind, body: { ...body, [nested[0]]: { ...(nested[1] as object), note: 'hi' } } }))).toBe('SchemaError')
    })
  }

  it('a job\'s model declares its size or not: both shapes open, the size as sealed', () => {
    for (const model of [bodies.job.model, { ...bodies.job.model, bytes: 1 }, { ...bodies.job.model, bytes: MAX_MODEL_BYTES }]) {
      const r = open(seal('job', { ...bodies.job, model }, alice, { seq: 1, ts: NOW }))
      if (!r.ok) throw r.error
      expect((r.envelope as Envelope<'job'>).body.model).toEqual(model)
    }
  })

  it('accepts bodies decoded from CBOR exactly as sealed (bytes stay bytes)', () => {
    const r = open(seal('verdict', bodies.verdict, alice, { seq: 1, ts: NOW }))
    if (!r.ok) throw r.error
    const v = r.envelope as Envelope<'verdict'>
    expect(v.body.credited.every((k, i) => bytesEqual(k, bodies.verdict.credited[i]!))).toBe(true)
  })
})

describe('the native-Ed25519 variants give the same bytes and results', () => {
  it('openAsync gives open\'s answer: accepted, refused with the same error, the replay window the same', async () => {
    const good = seal('presence', presence(), alice, { seq: 5, ts: NOW })
    const tampered = Uint8Array.from(good, (x, i) => i === good.length - 1 ? x ^ 1 : x)
    const samples: unknown[] = [good, tampered, seal('verdict', bodies.verdict, alice, { seq: 1, ts: NOW }), ...JUNK_BYTES, ...NOT_BYTES]
    for (const bytes of samples) {
      for (const options of [{}, { kinds: ['presence'] as Kind[] }, { now: NOW + 10_000, maxAgeMs: 1000 }, { now: NOW - 10_000, maxFutureMs: 1000 }]) {
        forgetVerifications()
        const sync = open(bytes as Uint8Array, options)
        forgetVerifications()
        const async = await openAsync(bytes as Uint8Array, options)
        expect(async.ok).toBe(sync.ok)
        if (!sync.ok && !async.ok) expect(async.error.name).toBe(sync.error.name)
        if (sync.ok && async.ok) expect(async.envelope).toEqual(sync.envelope)
      }
    }
    const replay = new ReplayWindow()
    expect((await openAsync(good, { replay })).ok).toBe(true)
    const again = await openAsync(good, { replay })
    expect(!again.ok && again.error.name).toBe('ReplayError')
    // A forgery does not burn the seq: the window only counts signatures that verified.
    const fresh = new ReplayWindow()
    expect((await openAsync(tampered, { replay: fresh })).ok).toBe(false)
    expect((await openAsync(good, { replay: fresh })).ok).toBe(true)
  })

  it('sealAsync gives seal\'s bytes for every kind, and refuses what seal refuses', async () => {
    for (const kind of ALL_KINDS) {
      const meta = { seq: 3, ts: NOW }
      expect(await sealAsync(kind, bodies[kind] as never, alice, meta)).toEqual(seal(kind, bodies[kind] as never, alice, meta))
    }
    await expect(sealAsync('presence', presence({ threads: -1 }), alice, { seq: 1, ts: NOW })).rejects.toBeInstanceOf(SchemaError)
  })

  it('openAsync leaves a receipt\'s three signatures verified, and never rejects', async () => {
    const verdict = seal('verdict', bodies.verdict, alice, { seq: 1, ts: NOW })
    const head = seal('tree-head', bodies['tree-head'], alice, { seq: 1, ts: NOW })
    const receipt = seal('receipt', { ...bodies.receipt, verdict, head }, alice, { seq: 1, ts: NOW })
    const signed = (bytes: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] => {
      const m = decodeCanonical(bytes, 1 << 20)
      if (!m.ok) throw new Error('does not decode')
      const { sig, ...unsigned } = m.value as Record<string, unknown>
      return [sig as Uint8Array, signingBytes(unsigned.kind as Kind, encodeCanonical(unsigned)), alice.publicKey]
    }
    forgetVerifications()
    expect((await openAsync(receipt)).ok).toBe(true)
    // Remembered: the synchronous check answers without running noble again.
    const before = nobleCalls.verify
    for (const bytes of [receipt, verdict, head]) {
      const [sig, msg, key] = signed(bytes)
      expect(verifySignature(sig, msg, key)).toBe(true)
    }
    expect(nobleCalls.verify).toBe(before)
    const [sig, msg, key] = signed(receipt)
    expect(verifySignature(sig, concat(msg, new Uint8Array([0])), key)).toBe(false)
    expect(nobleCalls.verify).toBe(before + 1)
    for (const junk of [...JUNK_BYTES, ...NOT_BYTES]) await expect(openAsync(junk as Uint8Array)).resolves.toMatchObject({ ok: false })
  })
})
