/**
 * Fuzzing the two gates for untrusted bytes, `open()` and `verifyReceipt()`:
 * per kind, at least 10 000 inputs — mutations of a genuine signed envelope
 * (bit flips, byte overwrites, insertions, deletions, truncations, splices,
 * chunk duplication), structurally valid CBOR envelopes with random fields,
 * and random bytes. Every one must be refused with a named core error: no
 * throw, and no mutated signed message ever accepted (canonical CBOR makes
 * the encoding unique, so different bytes can only verify with a forged
 * signature). Receipts are also re-sealed around mutated inner verdicts and
 * heads: a valid outer signature must not launder a tampered inner one.
 * A fixed seed keeps every run the same; a failure prints the case.
 */
import { describe, it, expect } from 'vitest'
import { open, seal } from '../../../src/core/envelope.ts'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { bytesEqual } from '../../../src/core/bytes.ts'
import { verifyReceipt } from '../../../src/core/receipt.ts'
import { CoreError } from '../../../src/core/errors.ts'
import type { Kind } from '../../../src/core/constants.ts'
import { ALL_KINDS, NOW, sampleBodies, who } from './fixtures.ts'
import { TS, TestRequester } from './log-fixtures.ts'

const PER_KIND = 10_000
const OPEN_ERRORS = new Set(['InvalidEnvelopeError', 'UnknownVersionError', 'UnexpectedKindError', 'OversizedError', 'SchemaError', 'BadSignatureError', 'StaleMessageError', 'FutureMessageError', 'ReplayError'])
const RECEIPT_ERRORS = new Set([...OPEN_ERRORS, 'InvalidProofError', 'ForkError'])

/** xorshift32: small, fast, reproducible. */
function rng (seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n: number) => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x % n
  }
}

type Rand = ReturnType<typeof rng>

function randomBytes (rand: Rand, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => rand(256))
}

/** One random mutation of `b` (never returns `b` itself; may return equal bytes, which callers skip). */
function mutate (rand: Rand, b: Uint8Array, other: Uint8Array): Uint8Array {
  const at = rand(b.length)
  switch (rand(8)) {
    case 0: { // 1..3 bit flips
      const c = b.slice()
      for (let k = 0, n = 1 + rand(3); k < n; k++) { const i = rand(c.length); c[i] = c[i]! ^ (1 << rand(8)) }
      return c
    }
    case 1: { const c = b.slice(); c[at] = rand(256); return c }
    case 2: return Uint8Array.of(...b.subarray(0, at), rand(256), ...b.subarray(at))
    case 3: return Uint8Array.of(...b.subarray(0, at), ...b.subarray(at + 1 + rand(4)))
    case 4: return b.slice(0, at)
    case 5: return Uint8Array.of(...b, ...randomBytes(rand, 1 + rand(8)))
    case 6: return Uint8Array.of(...b.subarray(0, at), ...other.subarray(rand(other.length)))
    default: { const len = 1 + rand(16); return Uint8Array.of(...b.subarray(0, at), ...b.subarray(at, at + len), ...b.subarray(at)) }
  }
}

/** A random CBOR value of small depth: the shapes cborg and the schemas must cope with. */
function randomValue (rand: Rand, depth: number): unknown {
  switch (rand(depth > 2 ? 6 : 9)) {
    case 0: return rand(1000) - 500
    case 1: return rand(2) === 0 ? 2 ** 53 - rand(3) : rand(1000) / 7
    case 2: return 'x'.repeat(rand(80))
    case 3: return randomBytes(rand, [0, 31, 32, 33, 64][rand(5)]!)
    case 4: return rand(2) === 0 ? null : rand(2) === 0
    case 5: return ['presence', 'verdict', 'wasm', '', 'exact'][rand(5)]
    case 6: return Array.from({ length: rand(5) }, () => randomValue(rand, depth + 1))
    default: {
      const keys = ['jobId', 'shard', 'size', 'root', 'prev', 'credited', 'proof', 'verdict', 'head', 'index', 'peerId', 'models', 'z']
      const o: Record<string, unknown> = {}
      for (let k = 0, n = rand(6); k < n; k++) o[keys[rand(keys.length)]!] = randomValue(rand, depth + 1)
      return o
    }
  }
}

/** A canonical CBOR envelope with plausible fields and a random body or a mutated genuine body, signed or not. */
function randomEnvelope (rand: Rand, kind: Kind): Uint8Array {
  const body = rand(2) === 0 ? randomValue(rand, 0) : { ...(sampleBodies()[kind] as object), [['size', 'shard', 'extra'][rand(3)]!]: randomValue(rand, 1) }
  const m: Record<string, unknown> = { v: rand(10) === 0 ? 2 : 1, kind: rand(10) === 0 ? 'verdicts' : kind, signer: randomBytes(rand, rand(10) === 0 ? 31 : 32), seq: rand(100), ts: NOW, body, sig: randomBytes(rand, rand(10) === 0 ? 63 : 64) }
  if (rand(10) === 0) delete m[Object.keys(m)[rand(7)]!]
  try {
    return encodeCanonical(m)
  } catch {
    return randomBytes(rand, 10)
  }
}

/** Refusals by error name, so each test can show its inputs reached the deep checks (schema, signature). */
type Tally = Map<string, number>

function expectRefused (result: { ok: boolean, error?: unknown }, allowed: Set<string>, tally: Tally, what: () => string): void {
  if (result.ok) throw new Error(`accepted: ${what()}`)
  const error = result.error as CoreError
  if (!(error instanceof CoreError) || !allowed.has(error.name)) throw new Error(`untyped or unexpected error ${String(error?.name)}: ${what()}`)
  tally.set(error.name, (tally.get(error.name) ?? 0) + 1)
}

const requester = new TestRequester(who(40))
for (let i = 0; i < 20; i++) requester.verdict(i, [who(1), who(2)], [who(3)])
requester.head()
for (let i = 0; i < 11; i++) requester.verdict(20 + i, [who(2)])
requester.head()
const receipt = requester.receipt(13)

function genuine (kind: Kind): Uint8Array {
  if (kind === 'receipt') return receipt
  if (kind === 'tree-head') return requester.heads[1]!
  return seal(kind, sampleBodies()[kind], who(1), { seq: 5, ts: NOW })
}

describe(`fuzz: ${PER_KIND} hostile inputs per kind`, () => {
  for (const kind of ALL_KINDS) {
    it(`open() refuses every mutated, malformed or random ${kind} envelope with a named error`, () => {
      const rand = rng(0x5eed + kind.length * 7919 + kind.charCodeAt(0))
      const good = genuine(kind)
      expect(open(good).ok).toBe(true)
      const other = genuine(ALL_KINDS[(ALL_KINDS.indexOf(kind) + 1) % ALL_KINDS.length]!)
      let tried = 0
      const tally: Tally = new Map()
      for (let n = 0; n < PER_KIND; n++) {
        const r = n % 10
        const input = r < 7 ? mutate(rand, good, other) : r < 9 ? randomEnvelope(rand, kind) : randomBytes(rand, rand(2 * good.length + 1))
        // A splice can rebuild the other genuine envelope exactly (same signer, same prefix): that is not a mutation.
        if (bytesEqual(input, good) || bytesEqual(input, other)) continue
        tried++
        let result
        try {
          result = open(input)
        } catch (err) {
          throw new Error(`open threw ${String(err)} on case ${n}`)
        }
        expectRefused(result, OPEN_ERRORS, tally, () => `case ${n} (${input.length} bytes)`)
      }
      expect(tried).toBeGreaterThan(PER_KIND * 0.99)
      expect(tally.get('BadSignatureError') ?? 0).toBeGreaterThan(PER_KIND / 50)
      expect(tally.get('SchemaError') ?? 0).toBeGreaterThan(PER_KIND / 50)
    }, 180_000)
  }

  it('verifyReceipt() refuses every mutated receipt, and receipts re-sealed around mutated verdicts or heads', () => {
    const rand = rng(0xbeef)
    expect(verifyReceipt(receipt).ok).toBe(true)
    const body = (open(receipt) as { ok: true, envelope: { body: { verdict: Uint8Array, index: number, proof: Uint8Array[], head: Uint8Array } } }).envelope.body
    let tried = 0
    const tally: Tally = new Map()
    for (let n = 0; n < PER_KIND; n++) {
      const input = n % 10 < 8 ? mutate(rand, receipt, requester.heads[0]!) : randomEnvelope(rand, 'receipt')
      if (bytesEqual(input, receipt) || bytesEqual(input, requester.heads[0]!)) continue
      tried++
      let result
      try { result = verifyReceipt(input) } catch (err) { throw new Error(`verifyReceipt threw ${String(err)} on case ${n}`) }
      expectRefused(result, RECEIPT_ERRORS, tally, () => `case ${n}`)
    }
    expect(tried).toBeGreaterThan(PER_KIND * 0.99)
    expect(tally.get('BadSignatureError') ?? 0).toBeGreaterThan(PER_KIND / 50)
    // The requester's own signature on the receipt must not vouch for tampered insides.
    const inner: Tally = new Map()
    for (let n = 0; n < 600; n++) {
      const part = n % 3
      const parts = {
        verdict: part === 0 ? mutate(rand, body.verdict, body.head) : body.verdict,
        index: body.index,
        proof: part === 2 ? body.proof.map((p, i) => i === rand(body.proof.length) ? mutate(rand, p, p).slice(0, 32) : p) : body.proof,
        head: part === 1 ? mutate(rand, body.head, body.verdict) : body.head
      }
      if (part === 2 && parts.proof.some(p => p.length !== 32)) continue
      const same = bytesEqual(parts.verdict, body.verdict) && bytesEqual(parts.head, body.head) && parts.proof.every((p, i) => bytesEqual(p, body.proof[i]!))
      if (same) continue
      let resealed: Uint8Array
      try {
        resealed = seal('receipt', parts, requester.identity, { seq: 10_000 + n, ts: TS })
      } catch {
        continue // too large for the receipt cap: seal refuses, nothing to verify
      }
      expectRefused(verifyReceipt(resealed), RECEIPT_ERRORS, inner, () => `inner case ${n} (part ${part})`)
    }
    expect(inner.get('InvalidProofError') ?? 0).toBeGreaterThan(50)
    expect(inner.get('BadSignatureError') ?? 0).toBeGreaterThan(50)
  }, 300_000)
})
