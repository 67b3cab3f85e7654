/**
 * The receipt file formats (src/core/receipt-bundle.ts) and bundle
 * verification (src/core/verify-bundle.ts): RFC 4648 base64 vectors and a
 * round-trip property, every way a file can be malformed refused with the
 * reason, and a bundle's report: per-receipt results, bad extra heads,
 * forks, credit, and `verified` only when everything checks.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { fromBase64, toBase64, toHex } from '../../../src/core/bytes.ts'
import { encodeBundle, encodeReceiptFile, parseBundle } from '../../../src/core/receipt-bundle.ts'
import { formatReport, verifyBundleText } from '../../../src/core/verify-bundle.ts'
import { seal, open, type Envelope } from '../../../src/core/envelope.ts'
import { who } from './fixtures.ts'
import { TS, TestRequester, hash } from './log-fixtures.ts'

const [alice, bob] = [who(1), who(2)]
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('base64 (RFC 4648)', () => {
  it('§10 test vectors, both ways', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']]
    for (const [plain, b64] of vectors) {
      expect(toBase64(enc(plain))).toBe(b64)
      expect(fromBase64(b64)).toEqual(enc(plain))
    }
  })

  it('refuses non-canonical and non-base64 text', () => {
    for (const bad of ['Zh==', 'Zm9=', 'Zg', 'Zg=', 'Zg===', 'Z===', '=Zg=', 'Zm 9v', 'Zm9v\n', 'Zm-v', 'Zm_v', 'Zg==Zg==', 'é', 42, null]) {
      expect(fromBase64(bad)).toBeUndefined()
    }
  })

  it('round-trips any bytes (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), b => {
      expect(fromBase64(toBase64(b))).toEqual(b)
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'))
    }))
  })
})

describe('parsing receipt files', () => {
  const r = new TestRequester(who(40))
  r.verdict(0, [alice])
  r.head()
  const receipt = r.receipt(0)

  it('reads what encodeBundle and encodeReceiptFile write', () => {
    const b = parseBundle(encodeBundle({ receipts: [receipt], heads: r.heads }))
    expect(b.ok && b.format).toBe('essaim-receipts/1')
    expect(b.ok && b.bundle.receipts[0]).toEqual(receipt)
    expect(b.ok && b.bundle.heads).toEqual(r.heads)
    const one = parseBundle(encodeReceiptFile(receipt))
    expect(one.ok && one.bundle).toEqual({ receipts: [receipt], heads: [] })
  })

  const cases: Array<[string, unknown, RegExp]> = [
    ['not text', new Uint8Array(3), /input is not text/],
    ['not JSON', '{"format":', /not JSON/],
    ['a JSON list', '[]', /not a JSON object/],
    ['no format', '{"receipts":[],"heads":[]}', /"format" is missing/],
    ['another format', '{"format":"essaim-receipts/9"}', /"format" is "essaim-receipts\/9"/],
    ['an extra field', '{"format":"essaim-receipts/1","receipts":[],"heads":[],"x":1}', /unknown field "x"/],
    ['a missing field', '{"format":"essaim-receipt/1"}', /missing field "receipt"/],
    ['receipts not a list', '{"format":"essaim-receipts/1","receipts":"AA==","heads":[]}', /"receipts" must be a list/],
    ['a number for bytes', '{"format":"essaim-receipts/1","receipts":[],"heads":[7]}', /heads\[0\] is not canonical padded base64/],
    ['URL-safe base64', '{"format":"essaim-receipt/1","receipt":"_-8="}', /"receipt" is not canonical padded base64/]
  ]
  for (const [name, text, reason] of cases) {
    it(`refuses ${name} with BundleFormatError`, () => {
      const p = parseBundle(text)
      expect(p.ok).toBe(false)
      if (p.ok) return
      expect(p.error.name).toBe('BundleFormatError')
      expect(p.reason).toMatch(reason)
    })
  }
})

describe('verifying a bundle', () => {
  const r = new TestRequester(who(40))
  r.verdict(0, [alice, bob]); r.verdict(1, [alice]); r.head()
  r.verdict(2, [bob]); r.head()
  const receipts = [r.receipt(0), r.receipt(1), r.receipt(2), r.receipt(0, r.heads[0]!)]

  it('a good bundle is verified, with per-receipt facts and credit counted once per leaf', () => {
    const v = verifyBundleText(encodeBundle({ receipts, heads: r.heads }))
    if (!v.ok) throw new Error(v.reason)
    const rep = v.report
    expect(rep.verified).toBe(true)
    expect(rep.problems).toEqual([])
    expect(rep.receipts.map(x => [x.ok, x.index, x.headSize, x.shard, x.flagged])).toEqual([[true, 0, 3, 0, false], [true, 1, 3, 1, false], [true, 2, 3, 2, false], [true, 0, 2, 0, false]])
    expect(rep.receipts[0]!.credited).toEqual([toHex(alice.publicKey), toHex(bob.publicKey)])
    // Equal credit: ordered by public key.
    expect(rep.ledger.rows.map(x => [x.peer, x.credit])).toEqual([[toHex(alice.publicKey), 2], [toHex(bob.publicKey), 2]].sort((a, b) => a[0]! < b[0]! ? -1 : 1))
    expect(formatReport(rep)).toContain('VERIFIED')
  })

  it('a bad extra head or a broken chain link is a problem; a head with a failing link is also fork evidence', () => {
    const body = (open(r.heads[1]!) as { ok: true, envelope: Envelope<'tree-head'> }).envelope.body
    const broken = seal('tree-head', { ...body, prev: { ...body.prev!, consistency: [hash(3)] } }, r.identity, { seq: 900, ts: TS })
    const garbage = Uint8Array.from(r.heads[0]!, (x, i) => i === 20 ? x ^ 4 : x)
    const v = verifyBundleText(encodeBundle({ receipts: receipts.slice(0, 1), heads: [r.heads[0]!, garbage, broken] }))
    if (!v.ok) throw new Error(v.reason)
    expect(v.report.verified).toBe(false)
    expect(v.report.heads.map(h => h.ok)).toEqual([true, false, false])
    expect(v.report.heads[2]!.reason).toMatch(/^ForkError: tree head: consistency proof from size 2 to 3 does not verify/)
    expect(v.report.forks.map(f => [f.evidence.kind, f.confirmed])).toEqual([['bad-consistency', true]])
    expect(v.report.problems).toHaveLength(3)
  })

  it('an empty bundle verifies trivially; a file that is not a bundle is a refusal, not a report', () => {
    const empty = verifyBundleText(encodeBundle({ receipts: [], heads: [] }))
    expect(empty.ok && empty.report.verified).toBe(true)
    const bad = verifyBundleText('nope')
    expect(!bad.ok && bad.error.name).toBe('BundleFormatError')
  })

  it('clock limits apply when given', () => {
    const text = encodeBundle({ receipts: receipts.slice(0, 1), heads: [] })
    const v = verifyBundleText(text, { now: TS + 10_000_000, maxAgeMs: 1000 })
    expect(v.ok && v.report.receipts[0]!.reason).toMatch(/^StaleMessageError/)
  })
})
