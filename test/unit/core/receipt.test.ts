/**
 * Tree heads (src/core/tree-head.ts) and receipts (src/core/receipt.ts):
 * a chain of heads with consistency links verifies and a broken link is a
 * ForkError; a receipt verifies, and each check verifyReceipt promises
 * (signatures, one signer for all parts, index in range, inclusion) refuses
 * a receipt built to fail exactly that check.
 */
import { describe, it, expect } from 'vitest'
import { seal, open } from '../../../src/core/envelope.ts'
import { bytesEqual, toHex } from '../../../src/core/bytes.ts'
import { leafHash } from '../../../src/core/merkle.ts'
import { issueReceipt, issueReceiptAsync, sealReceipt, verifyReceipt } from '../../../src/core/receipt.ts'
import { sealTreeHead, verifyTreeHead } from '../../../src/core/tree-head.ts'
import { InvalidProofError } from '../../../src/core/errors.ts'
import type { Envelope } from '../../../src/core/envelope.ts'
import { who } from './fixtures.ts'
import { TS, TestRequester, hash } from './log-fixtures.ts'

const alice = who(1)
const bob = who(2)
const carol = who(3)

function requesterWith (n: number): TestRequester {
  const r = new TestRequester(who(40))
  for (let i = 0; i < n; i++) r.verdict(i, [alice, bob], [carol])
  return r
}

/** A receipt sealed without sealReceipt's self-check, so tests can make broken ones. */
function forgeReceipt (signer = who(40), parts: { verdict: Uint8Array, index: number, proof: Uint8Array[], head: Uint8Array }): Uint8Array {
  return seal('receipt', parts, signer, { seq: 999, ts: TS })
}

describe('tree heads', () => {
  it('successive heads link by consistency proofs and verify', () => {
    const r = new TestRequester(who(40))
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < round * 3 + 1; i++) r.verdict(i, [alice])
      r.head()
    }
    const sizes = r.heads.map(h => {
      const v = verifyTreeHead(h)
      if (!v.ok) throw new Error(v.reason)
      return [v.envelope.body.size, v.envelope.body.prev?.size ?? null]
    })
    expect(sizes).toEqual([[1, null], [5, 1], [12, 5], [22, 12], [35, 22]])
  })

  it('a head whose consistency proof fails is a ForkError, and so is one naming a root the log never had', () => {
    const r = requesterWith(6)
    const first = { size: 3, root: r.log.root(3) }
    const good = sealTreeHead(r.identity, r.log, { seq: 1, ts: TS }, first)
    const body = (open(good) as { ok: true, envelope: Envelope<'tree-head'> }).envelope.body
    const proof = body.prev!.consistency
    const flipped = proof.map((p, i) => i === 0 ? Uint8Array.from(p, (b, j) => j === 0 ? b ^ 1 : b) : p)
    const broken = seal('tree-head', { ...body, prev: { ...body.prev!, consistency: flipped } }, r.identity, { seq: 2, ts: TS })
    const other = seal('tree-head', { ...body, prev: { ...body.prev!, root: hash(77) } }, r.identity, { seq: 3, ts: TS })
    expect(verifyTreeHead(good).ok).toBe(true)
    for (const bad of [broken, other]) {
      const v = verifyTreeHead(bad)
      expect(v.ok).toBe(false)
      if (!v.ok) expect(v.error.name).toBe('ForkError')
    }
    expect(() => sealTreeHead(r.identity, r.log, { seq: 4, ts: TS }, { size: 3, root: hash(77) })).toThrow(InvalidProofError)
    expect(() => sealTreeHead(r.identity, r.log, { seq: 4, ts: TS }, { size: 7, root: hash(77) })).toThrow(RangeError)
  })

  it('a first head (prev null) of the empty log verifies; garbage does not', () => {
    const r = new TestRequester(who(40))
    expect(verifyTreeHead(r.head()).ok).toBe(true)
    expect(verifyTreeHead(new Uint8Array([0xa0])).ok).toBe(false)
    expect(verifyTreeHead(seal('verdict', { jobId: hash(1), shard: 0, outputHash: hash(2), credited: [], rejected: [] }, alice, { seq: 1, ts: TS })).ok).toBe(false)
  })
})

describe('receipts', () => {
  it('verify for every leaf, against the latest and against older heads that contain it', () => {
    const r = requesterWith(5)
    const h5 = r.head()
    for (let i = 0; i < 4; i++) r.verdict(10 + i, [bob])
    r.head()
    for (let i = 0; i < 9; i++) {
      const v = verifyReceipt(r.receipt(i))
      if (!v.ok) throw new Error(v.reason)
      expect(v.index).toBe(i)
      expect(v.requester).toEqual(r.identity.publicKey)
      expect(v.head.body.size).toBe(9)
      expect(bytesEqual(v.leaf, leafHash(r.verdicts[i]!))).toBe(true)
      expect(toHex(v.verdict.body.credited[0]!)).toBe(toHex(i < 5 ? alice.publicKey : bob.publicKey))
    }
    const old = verifyReceipt(r.receipt(2, h5))
    expect(old.ok && old.head.body.size).toBe(5)
    // A leaf appended after a head cannot be proven against it.
    expect(() => r.receipt(7, h5)).toThrow(RangeError)
  })

  it('issueReceiptAsync seals the same bytes as issueReceipt, with the proof taken before the log grows on', async () => {
    const r = requesterWith(5)
    const head = r.head()
    const meta = { seq: 500, ts: TS + 500 }
    const pending = issueReceiptAsync(r.identity, r.log, r.verdicts[3]!, 3, head, meta)
    r.verdict(20, [bob])
    const { bytes, verified } = await pending
    expect(bytes).toEqual(issueReceipt(r.identity, r.log, r.verdicts[3]!, 3, head, meta))
    const v = verifyReceipt(bytes)
    expect(v.ok && v.index).toBe(3)
    // What the check opened, for the issuer's ledger, is what verifying the bytes gives.
    expect(verified).toEqual(v)
    await expect(issueReceiptAsync(r.identity, r.log, r.verdicts[3]!, 5, head, meta)).rejects.toThrow(RangeError)
  })

  const cases: Array<[string, (r: TestRequester) => Uint8Array, string, RegExp]> = [
    ['wrong index', r => forgeReceipt(undefined, { verdict: r.verdicts[2]!, index: 3, proof: r.log.inclusionProof(2), head: r.heads[0]! }), 'InvalidProofError', /inclusion proof of leaf 3/],
    ['index beyond the head', r => forgeReceipt(undefined, { verdict: r.verdicts[2]!, index: 6, proof: r.log.inclusionProof(2), head: r.heads[0]! }), 'InvalidProofError', /outside the tree head of size 6/],
    ['proof from another size', r => forgeReceipt(undefined, { verdict: r.verdicts[2]!, index: 2, proof: r.log.inclusionProof(2, 5), head: r.heads[0]! }), 'InvalidProofError', /does not verify/],
    ['verdict not in the log', r => forgeReceipt(undefined, { verdict: seal('verdict', { jobId: hash(1), shard: 2, outputHash: hash(3), credited: [carol.publicKey], rejected: [] }, r.identity, { seq: 500, ts: TS }), index: 2, proof: r.log.inclusionProof(2), head: r.heads[0]! }), 'InvalidProofError', /does not verify/],
    ['verdict signed by someone else', r => {
      const other = new TestRequester(who(41))
      other.verdict(0, [alice])
      return forgeReceipt(undefined, { verdict: other.verdicts[0]!, index: 2, proof: r.log.inclusionProof(2), head: r.heads[0]! })
    }, 'InvalidProofError', /verdict is signed by another key/],
    ['head signed by someone else', r => {
      const other = new TestRequester(who(41))
      for (const v of r.verdicts) other.log.append(v)
      return forgeReceipt(undefined, { verdict: r.verdicts[2]!, index: 2, proof: r.log.inclusionProof(2), head: other.head() })
    }, 'InvalidProofError', /tree head is signed by another key/],
    ['receipt sealed by someone else', r => forgeReceipt(who(41), { verdict: r.verdicts[2]!, index: 2, proof: r.log.inclusionProof(2), head: r.heads[0]! }), 'InvalidProofError', /signed by another key than the receipt/],
    ['verdict bytes not an envelope', r => forgeReceipt(undefined, { verdict: new Uint8Array([1, 2, 3]), index: 2, proof: r.log.inclusionProof(2), head: r.heads[0]! }), 'InvalidEnvelopeError', /^InvalidEnvelopeError: verdict: /],
    ['head is a verdict', r => forgeReceipt(undefined, { verdict: r.verdicts[2]!, index: 2, proof: r.log.inclusionProof(2), head: r.verdicts[1]! }), 'UnexpectedKindError', /tree head/]
  ]
  for (const [name, make, error, reason] of cases) {
    it(`refuses a receipt with ${name}`, () => {
      const r = requesterWith(6)
      r.head()
      const v = verifyReceipt(make(r))
      expect(v.ok).toBe(false)
      if (v.ok) return
      expect(v.error.name).toBe(error)
      expect(v.reason).toMatch(reason)
    })
  }

  it('refuses a receipt whose head has a broken consistency link (ForkError), and sealReceipt refuses to make bad ones', () => {
    const r = requesterWith(6)
    const head = sealTreeHead(r.identity, r.log, { seq: 1, ts: TS }, null)
    const body = (open(head) as { ok: true, envelope: Envelope<'tree-head'> }).envelope.body
    const lying = seal('tree-head', { ...body, prev: { size: 2, root: hash(5), consistency: [] } }, r.identity, { seq: 2, ts: TS })
    const v = verifyReceipt(forgeReceipt(undefined, { verdict: r.verdicts[1]!, index: 1, proof: r.log.inclusionProof(1), head: lying }))
    expect(!v.ok && v.error.name).toBe('ForkError')
    expect(() => sealReceipt(r.identity, { verdict: r.verdicts[1]!, index: 2, proof: r.log.inclusionProof(1), head }, { seq: 3, ts: TS })).toThrow(InvalidProofError)
  })

  it('a receipt can be opened with clock limits like any envelope', () => {
    const r = requesterWith(2)
    r.head()
    const bytes = r.receipt(0)
    expect(verifyReceipt(bytes, { now: TS + 100, maxAgeMs: 1000 }).ok).toBe(true)
    const stale = verifyReceipt(bytes, { now: TS + 100_000, maxAgeMs: 1000 })
    expect(!stale.ok && stale.error.name).toBe('StaleMessageError')
  })
})
