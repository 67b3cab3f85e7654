/**
 * The credit ledger (src/core/ledger.ts) and fork evidence (src/core/fork.ts):
 * credit counted once per (requester, leaf index); each kind of fork found,
 * re-checkable from its bytes, and the forked requester's later claims
 * flagged, not counted; bounded memory; and (fast-check) the snapshot does
 * not depend on the order or repetition of inputs.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { Ledger, type LedgerSnapshot } from '../../../src/core/ledger.ts'
import { checkForkEvidence, type ForkEvidence } from '../../../src/core/fork.ts'
import { seal, open, type Envelope } from '../../../src/core/envelope.ts'
import { toHex } from '../../../src/core/bytes.ts'
import { verifyReceipt } from '../../../src/core/receipt.ts'
import { who } from './fixtures.ts'
import { seededRng } from '../../../src/core/rng.ts'
import { TS, TestRequester, hash } from './log-fixtures.ts'

const [alice, bob, carol] = [who(1), who(2), who(3)]
const hex = (k: { publicKey: Uint8Array }): string => toHex(k.publicKey)

function credit (s: LedgerSnapshot, peer: { publicKey: Uint8Array }): { credit: number, flaggedCredit: number, verdicts: number, rejected: number } {
  const row = s.rows.find(r => r.peer === hex(peer))
  return row === undefined ? { credit: 0, flaggedCredit: 0, verdicts: 0, rejected: 0 } : { credit: row.credit, flaggedCredit: row.flaggedCredit, verdicts: row.verdicts, rejected: row.rejected }
}

function feed (ledger: Ledger, items: Uint8Array[]): void {
  for (const b of items) {
    const r = ledger.add(b)
    if (!r.ok) throw new Error(r.reason)
  }
}

/** Evidence with one byte of its first envelope flipped: must no longer check. */
function tamper (e: ForkEvidence): ForkEvidence {
  const flip = (b: Uint8Array): Uint8Array => Uint8Array.from(b, (x, i) => i === b.length - 5 ? x ^ 1 : x)
  switch (e.kind) {
    case 'same-size': return { ...e, a: flip(e.a) }
    case 'bad-consistency': return { ...e, head: flip(e.head) }
    case 'leaf-conflict': return { ...e, a: { ...e.a, verdict: flip(e.a.verdict) } }
  }
}

describe('credit', () => {
  it('one credit per credited verdict, once per (requester, leaf index), duplicates and re-proofs ignored', () => {
    const r = new TestRequester(who(40))
    r.verdict(0, [alice, bob], [carol])
    r.verdict(1, [alice])
    const h2 = r.head()
    r.verdict(2, [bob, carol])
    r.head()
    const ledger = new Ledger()
    feed(ledger, [r.receipt(0), r.receipt(0, h2), r.receipt(1), r.receipt(2), r.receipt(2), ...r.heads, ...r.heads])
    expect(ledger.add(r.receipt(1)).ok && (ledger.add(r.receipt(1)) as { added: boolean }).added).toBe(false)
    const s = ledger.snapshot()
    expect(credit(s, alice)).toEqual({ credit: 2, flaggedCredit: 0, verdicts: 2, rejected: 0 })
    expect(credit(s, bob)).toEqual({ credit: 2, flaggedCredit: 0, verdicts: 2, rejected: 0 })
    expect(credit(s, carol)).toEqual({ credit: 1, flaggedCredit: 0, verdicts: 2, rejected: 1 })
    expect(s.forks).toEqual([])
    expect(s.totals).toMatchObject({ credit: 5, flaggedCredit: 0, verdicts: 3, heads: 2 })
    expect(s.requesters).toEqual([{ requester: hex(r.identity), heads: 2, verdicts: 3, largestSize: 3, forked: false, forkAt: null, dropped: 0 }])
  })

  it('a re-verified shard\'s later verdict supersedes the earlier one: each shard credited once, to the latest verdict\'s peers', () => {
    const r = new TestRequester(who(41))
    r.verdict(0, [alice, carol]) // carol's credit here is later withdrawn by a re-verification
    r.verdict(1, [alice, bob])
    r.verdict(0, [alice, bob], [carol]) // revision 1 of shard 0
    r.verdict(0, [alice, bob], [], { jobId: hash(10) }) // same shard number, another job: its own decision
    r.head()
    const ledger = new Ledger()
    feed(ledger, [r.receipt(0), r.receipt(1), r.receipt(2), r.receipt(3), ...r.heads])
    const s = ledger.snapshot()
    expect(credit(s, alice)).toEqual({ credit: 3, flaggedCredit: 0, verdicts: 3, rejected: 0 })
    expect(credit(s, bob)).toEqual({ credit: 3, flaggedCredit: 0, verdicts: 3, rejected: 0 })
    expect(credit(s, carol)).toEqual({ credit: 0, flaggedCredit: 0, verdicts: 1, rejected: 1 })
    expect(s.totals).toMatchObject({ credit: 6, verdicts: 3 })
    // Seen without the revision (e.g. by a peer that missed it), the earlier verdict counts.
    const partial = new Ledger()
    feed(partial, [r.receipt(0), r.receipt(1), ...r.heads])
    expect(credit(partial.snapshot(), carol).credit).toBe(1)
  })

  it('refuses garbage and receipts that do not verify, without counting them', () => {
    const r = new TestRequester(who(40))
    r.verdict(0, [alice])
    r.head()
    const ledger = new Ledger()
    const good = r.receipt(0)
    const bad = Uint8Array.from(good, (x, i) => i === 40 ? x ^ 0x10 : x)
    expect(ledger.add(bad).ok).toBe(false)
    expect(ledger.add(new Uint8Array([1, 2, 3])).ok).toBe(false)
    expect(ledger.add(r.verdicts[0]!).ok).toBe(false)
    expect(credit(ledger.snapshot(), alice).credit).toBe(0)
    feed(ledger, [good])
    expect(credit(ledger.snapshot(), alice).credit).toBe(1)
  })

  it('a receipt added as verified (by its issuer) counts as the same receipt added as bytes', () => {
    const r = new TestRequester(who(42))
    r.verdict(0, [alice, bob], [carol])
    r.verdict(1, [alice])
    r.head()
    const receipts = [r.receipt(0), r.receipt(1), r.receipt(0)]
    const asBytes = new Ledger()
    feed(asBytes, receipts)
    const asVerified = new Ledger()
    for (const b of receipts) {
      const v = verifyReceipt(b)
      if (!v.ok) throw new Error(v.reason)
      asVerified.addVerified(v)
    }
    expect(asVerified.snapshot()).toEqual(asBytes.snapshot())
    expect(credit(asVerified.snapshot(), alice).credit).toBe(2)
    // And given with the envelope a gossip validator opened.
    const asOpened = new Ledger()
    for (const b of receipts) {
      const r = open(b, { kinds: ['receipt'] })
      if (!r.ok) throw r.error
      expect(asOpened.addReceipt(b, r.envelope as Envelope<'receipt'>).ok).toBe(true)
    }
    expect(asOpened.snapshot()).toEqual(asBytes.snapshot())
  })
})

describe('credit kept as receipts come (fast-check)', () => {
  // One honest requester's log: 24 verdicts on 6 shards (so most shards are re-verified, some twice or more),
  // each crediting and rejecting some of four peers.
  const peers = [alice, bob, carol, who(4)]
  const r = new TestRequester(who(45))
  const rng = seededRng(7)
  const bodies = Array.from({ length: 24 }, () => {
    const shard = Math.floor(rng.next() * 6)
    const roles = peers.map(() => Math.floor(rng.next() * 3))
    const body = { shard, credited: peers.filter((_p, i) => roles[i] === 1), rejected: peers.filter((_p, i) => roles[i] === 2) }
    r.verdict(body.shard, body.credited, body.rejected)
    return body
  })
  r.head()
  const receipts = bodies.map((_b, i) => r.receipt(i))

  /** What the ledger must show for the receipts of `fed` leaves: each shard's last verdict fed counts. */
  function expected (fed: number[]): Map<string, { credit: number, verdicts: number, rejected: number }> {
    const last = new Map<number, number>()
    for (const i of fed) last.set(bodies[i]!.shard, Math.max(last.get(bodies[i]!.shard) ?? -1, i))
    const out = new Map<string, { credit: number, verdicts: number, rejected: number }>()
    const at = (p: { publicKey: Uint8Array }): { credit: number, verdicts: number, rejected: number } => {
      const k = hex(p)
      if (!out.has(k)) out.set(k, { credit: 0, verdicts: 0, rejected: 0 })
      return out.get(k)!
    }
    for (const i of last.values()) {
      for (const p of bodies[i]!.credited) { at(p).credit++; at(p).verdicts++ }
      for (const p of bodies[i]!.rejected) { at(p).rejected++; at(p).verdicts++ }
    }
    return out
  }

  it('after every receipt, in any order and with repeats, each peer\'s counts are those of the last verdict of each shard fed so far', () => {
    expect(new Set(bodies.map(b => b.shard)).size).toBeLessThan(bodies.length)
    fc.assert(fc.property(
      fc.array(fc.nat({ max: receipts.length - 1 }), { minLength: 1, maxLength: 40 }),
      order => {
        const ledger = new Ledger()
        const fed: number[] = []
        for (const i of order) {
          ledger.addReceipt(receipts[i]!)
          fed.push(i)
          const s = ledger.snapshot()
          const want = expected(fed)
          expect(new Map(s.rows.map(row => [row.peer, { credit: row.credit, verdicts: row.verdicts, rejected: row.rejected }]))).toEqual(want)
          expect(s.totals.verdicts).toBe(new Set(fed.map(j => bodies[j]!.shard)).size)
          expect(s.requesters[0]).toMatchObject({ verdicts: new Set(fed).size, forked: false, largestSize: receipts.length })
        }
      }), { numRuns: 60 })
  })
})

describe('forks', () => {
  /** An honest prefix of 4 leaves with heads at 2 and 4, then two branches that both extend it to 6. */
  function forkedAt4 (): { main: TestRequester, alt: TestRequester } {
    const main = new TestRequester(who(40))
    main.verdict(0, [alice]); main.verdict(1, [alice]); main.head()
    main.verdict(2, [alice]); main.verdict(3, [bob]); main.head()
    const alt = main.fork()
    main.verdict(4, [alice]); main.verdict(5, [alice]); main.head()
    alt.verdict(4, [carol]); alt.verdict(5, [carol]); alt.head()
    return { main, alt }
  }

  it('two verdicts at one leaf index, under heads of different sizes (no two roots for one size): a fork, its claims flagged', () => {
    const { main } = forkedAt4()
    // A branch from 4 whose only head has 7 leaves (linked to 4): no size has two roots among these heads.
    const alt = main.fork(4)
    alt.verdict(4, [carol]); alt.verdict(5, [carol]); alt.verdict(6, [carol]); alt.head()
    const ledger = new Ledger()
    feed(ledger, [main.receipt(4), main.receipt(5)])
    expect(ledger.snapshot().requesters[0]!.forked).toBe(false)
    feed(ledger, [alt.receipt(4)])
    const s = ledger.snapshot()
    expect(s.forks.map(f => f.kind)).toEqual(['leaf-conflict'])
    expect(s.requesters[0]).toMatchObject({ forked: true, forkAt: 4 })
    expect(credit(s, alice)).toMatchObject({ credit: 0, flaggedCredit: 2 })
    expect(credit(s, carol)).toMatchObject({ credit: 0, flaggedCredit: 1 })
  })

  it('two roots for one size: evidence kept, re-checkable, fork point at the shared prefix, later claims flagged', () => {
    const { main, alt } = forkedAt4()
    const ledger = new Ledger()
    feed(ledger, [...main.heads, alt.heads.at(-1)!, ...[0, 1, 2, 3, 4, 5].map(i => main.receipt(i)), alt.receipt(4), alt.receipt(5)])
    const s = ledger.snapshot()
    const kinds = s.forks.map(f => f.kind).sort()
    expect(kinds).toEqual(['leaf-conflict', 'leaf-conflict', 'same-size'])
    for (const f of s.forks) {
      expect(checkForkEvidence(f)).toEqual({ ok: true })
      expect(checkForkEvidence(tamper(f)).ok).toBe(false)
    }
    expect(s.requesters[0]).toMatchObject({ forked: true, forkAt: 4 })
    // Leaves 0..3 are in the prefix both branches provably extend: counted. 4 and 5: flagged.
    expect(credit(s, alice)).toMatchObject({ credit: 3, flaggedCredit: 2 })
    expect(credit(s, bob)).toMatchObject({ credit: 1, flaggedCredit: 0 })
    expect(credit(s, carol)).toMatchObject({ credit: 0, flaggedCredit: 2 })
  })

  it('two roots for one size with no shared verified head: everything of that requester is flagged', () => {
    const a = new TestRequester(who(40))
    a.verdict(0, [alice]); a.verdict(1, [alice]); a.head()
    const b = new TestRequester(who(40))
    b.verdict(0, [bob]); b.verdict(1, [bob]); b.head()
    const ledger = new Ledger()
    feed(ledger, [a.receipt(0), a.receipt(1), b.heads[0]!])
    const s = ledger.snapshot()
    expect(s.forks.map(f => f.kind)).toEqual(['same-size'])
    expect(s.requesters[0]!.forkAt).toBe(0)
    expect(credit(s, alice)).toMatchObject({ credit: 0, flaggedCredit: 2 })
  })

  it('a head\'s prev claim counts: another head with that size and another root is a fork', () => {
    const { main, alt } = forkedAt4()
    // alt re-announces size 4 with a different root by rewriting leaf 3.
    const liar = new TestRequester(who(40))
    for (let i = 0; i < 3; i++) liar.verdict(i, [alice])
    liar.verdict(3, [carol])
    const lie = liar.head()
    void alt
    const ledger = new Ledger()
    feed(ledger, [main.heads[2]!, lie])
    const s = ledger.snapshot()
    expect(s.forks).toHaveLength(1)
    const f = s.forks[0]!
    expect(f.kind === 'same-size' && f.size).toBe(4)
    expect(checkForkEvidence(f).ok).toBe(true)
  })

  it('a validly signed head with a failing consistency proof is kept as evidence', () => {
    const r = new TestRequester(who(40))
    r.verdict(0, [alice]); r.verdict(1, [alice]); r.head()
    r.verdict(2, [alice])
    const body = (open(r.head()) as { ok: true, envelope: Envelope<'tree-head'> }).envelope.body
    const broken = seal('tree-head', { ...body, prev: { ...body.prev!, consistency: [hash(1)] } }, r.identity, { seq: 77, ts: TS })
    const ledger = new Ledger()
    expect(ledger.addTreeHead(broken)).toEqual({ ok: true, added: true })
    feed(ledger, [r.receipt(0, r.heads[0]!)])
    const s = ledger.snapshot()
    expect(s.forks.map(f => f.kind)).toEqual(['bad-consistency'])
    expect(checkForkEvidence(s.forks[0]!).ok).toBe(true)
    expect(checkForkEvidence(tamper(s.forks[0]!)).ok).toBe(false)
    // Size 2 (the prev it names) and size 3 share no verified head: all flagged.
    expect(s.requesters[0]!.forkAt).toBe(0)
    expect(credit(s, alice)).toMatchObject({ credit: 0, flaggedCredit: 1 })
  })

  it('evidence of another requester, or made of consistent heads, does not check', () => {
    const { main } = forkedAt4()
    const other = new TestRequester(who(41))
    other.verdict(0, [alice]); other.verdict(1, [alice]); other.head()
    const sameRoot: ForkEvidence = { kind: 'same-size', requester: main.identity.publicKey, size: 4, a: main.heads[1]!, b: main.heads[2]! }
    expect(checkForkEvidence(sameRoot)).toEqual({ ok: false, reason: 'both heads give size 4 the same root' })
    const wrongSigner: ForkEvidence = { kind: 'same-size', requester: main.identity.publicKey, size: 2, a: main.heads[0]!, b: other.heads[0]! }
    expect(checkForkEvidence(wrongSigner).ok).toBe(false)
    expect(checkForkEvidence({ kind: 'bad-consistency', requester: main.identity.publicKey, size: 6, head: main.heads[2]! }).ok).toBe(false)
    expect(checkForkEvidence({ kind: 'nonsense' } as unknown as ForkEvidence).ok).toBe(false)
  })
})

describe('bounds', () => {
  it('bounds the heads and receipts of all requesters together: many requester keys cannot fill memory', () => {
    const ledger = new Ledger({ limits: { receipts: 4, heads: 3 } })
    const keys = [40, 41, 42].map(n => new TestRequester(who(n)))
    for (const r of keys) { r.verdict(0, [alice]); r.verdict(1, [bob]); r.head() }
    // Two receipts each: the first two requesters fill the four, the third's are verified but not kept.
    const results = keys.flatMap(r => [0, 1].map(i => ledger.addReceipt(r.receipt(i))))
    expect(results.map(r => r.ok && r.dropped === undefined)).toEqual([true, true, true, true, false, false])
    expect(results.map(r => r.ok)).toEqual([true, true, true, true, true, true])
    expect(results[5]).toMatchObject({ ok: true, added: false, dropped: 'ledger holds the maximum number of receipts it keeps' })
    expect(ledger.add(keys[2]!.receipt(0))).toMatchObject({ ok: false, reason: expect.stringMatching(/maximum number of receipts it keeps/) })
    const s = ledger.snapshot()
    expect(credit(s, alice).credit).toBe(2)
    expect(s.totals.verdicts).toBe(4)
    expect(s.totals.dropped).toBe(3)
    // Nothing more would be kept: nothing to catch up on; the ledger is full for every requester, known or not.
    expect(ledger.missingLeaves(hex(who(42)), 2, 10)).toEqual([])
    expect([40, 42, 43].map(n => ledger.full(hex(who(n))))).toEqual([true, true, true])
    // The head bound: three heads kept, a fourth refused.
    keys[0]!.verdict(2, [alice])
    expect(ledger.addTreeHead(keys[0]!.head())).toMatchObject({ ok: false, reason: expect.stringMatching(/maximum number of heads it keeps/) })
  })

  it('refuses beyond the per-requester and requester caps and counts what it dropped', () => {
    const r = new TestRequester(who(40))
    for (let i = 0; i < 5; i++) r.verdict(i, [alice])
    r.head()
    const ledger = new Ledger({ limits: { receiptsPerRequester: 3, headsPerRequester: 1, requesters: 1 } })
    // A snapshot after every step: what is dropped shows in the next one.
    const dropped = (): number[] => { const s = ledger.snapshot(); return [s.requesters[0]?.dropped ?? 0, s.totals.dropped] }
    const results = [0, 1, 2, 3, 4].map(i => [ledger.add(r.receipt(i)).ok, ...dropped()])
    expect(results).toEqual([[true, 0, 0], [true, 0, 0], [true, 0, 0], [false, 1, 1], [false, 2, 2]])
    r.verdict(5, [alice])
    expect(ledger.add(r.head()).ok).toBe(false)
    expect(dropped()).toEqual([3, 3])
    const other = new TestRequester(who(41))
    other.verdict(0, [bob])
    expect(ledger.add(other.head()).ok).toBe(false)
    const s = ledger.snapshot()
    expect(credit(s, alice).credit).toBe(3)
    expect(s.requesters[0]!.dropped).toBe(3)
    expect(s.totals.dropped).toBe(4)
  })
})

describe('fork evidence cap', () => {
  it('shows at most forksPerRequester pieces, earliest fork point first, while the fork point uses all of them', () => {
    const main = new TestRequester(who(40))
    main.verdict(0, [alice]); main.verdict(1, [alice]); main.head()
    const alt = main.fork()
    main.verdict(2, [alice]); main.head()
    alt.verdict(2, [bob]); alt.head()
    const rogue = new TestRequester(who(40))
    rogue.verdict(0, [carol]); rogue.verdict(1, [carol]); rogue.head()
    const items = [...main.heads, alt.heads.at(-1)!, rogue.heads[0]!, main.receipt(2), alt.receipt(2)]
    const all = new Ledger()
    const capped = new Ledger({ limits: { forksPerRequester: 1 } })
    feed(all, items)
    feed(capped, items)
    const full = all.snapshot()
    const one = capped.snapshot()
    expect(full.forks.length).toBe(3)
    expect(one.forks).toHaveLength(1)
    // The rogue size-2 root shares no verified head with main's: fork point 0, so it is the one shown.
    expect(one.forks[0]!.kind).toBe('same-size')
    expect(one.forks[0]!.kind === 'same-size' && one.forks[0]!.size).toBe(2)
    expect(one.requesters[0]!.forkAt).toBe(0)
    expect(one.rows).toEqual(full.rows)
  })
})

describe('order independence (fast-check)', () => {
  // Two requesters, one honest with three heads, one forked at 4; receipts against several heads.
  const honest = new TestRequester(who(50))
  honest.verdict(0, [alice, bob]); honest.head()
  honest.verdict(1, [bob], [carol]); honest.verdict(2, [carol]); honest.head()
  honest.verdict(3, [alice]); honest.head()
  const main = new TestRequester(who(40))
  main.verdict(0, [alice]); main.verdict(1, [alice]); main.head()
  main.verdict(2, [alice]); main.verdict(3, [bob]); main.head()
  const alt = main.fork()
  main.verdict(4, [alice]); main.verdict(5, [alice]); main.head()
  alt.verdict(4, [carol]); alt.verdict(5, [carol, bob]); alt.head()
  // Two receipts of alt's leaf 4 against two heads of the same size (the same claim, signed twice):
  // which one is kept (the smaller receipt id) is in the fork evidence.
  const alt4 = alt.receipt(4)
  alt.head()
  // main's last head signed again (same size, root and link): which one is kept (the smaller id) is in the evidence too.
  const again = main.fork(4)
  for (const v of main.verdicts.slice(4, 6)) { again.verdicts.push(v); again.log.append(v) }
  const mainHeadAgain = again.head()
  const alt4b = alt.receipt(4)
  const items = [
    ...honest.heads, honest.receipt(0), honest.receipt(0, honest.heads[0]!), honest.receipt(1), honest.receipt(2, honest.heads[1]!), honest.receipt(3),
    ...main.heads, mainHeadAgain, ...alt.heads.slice(2), ...[0, 1, 2, 3, 4, 5].map(i => main.receipt(i)), alt4, alt4b, alt.receipt(5), alt.receipt(1),
    new Uint8Array([0xa0]), honest.verdicts[0]!
  ]
  const canonical = (s: LedgerSnapshot): string => JSON.stringify(s, (_k, v: unknown) => v instanceof Uint8Array ? toHex(v) : v)

  it('the same set of inputs in any order, with any repetition, gives the same snapshot', () => {
    const reference = new Ledger()
    for (const b of items) reference.add(b)
    const expected = canonical(reference.snapshot())
    expect(reference.snapshot().forks.length).toBeGreaterThan(0)
    fc.assert(fc.property(
      fc.shuffledSubarray(items.map((_, i) => i), { minLength: items.length, maxLength: items.length }),
      fc.array(fc.nat({ max: items.length - 1 }), { maxLength: 10 }),
      (order, repeats) => {
        const ledger = new Ledger()
        for (const i of [...order, ...repeats]) ledger.add(items[i]!)
        expect(canonical(ledger.snapshot())).toBe(expected)
      }), { numRuns: 25 })
  })

  it('snapshots taken along the way (each requester derived again only once fed) equal a fresh ledger\'s at every point', () => {
    const reference = new Ledger()
    for (const b of items) reference.add(b)
    const expected = canonical(reference.snapshot())
    fc.assert(fc.property(
      fc.shuffledSubarray(items.map((_, i) => i), { minLength: items.length, maxLength: items.length }),
      fc.array(fc.boolean(), { minLength: items.length, maxLength: items.length }),
      (order, looks) => {
        const ledger = new Ledger()
        order.forEach((i, k) => {
          ledger.add(items[i]!)
          if (!looks[k]!) return
          const fresh = new Ledger()
          for (const j of order.slice(0, k + 1)) fresh.add(items[j]!)
          expect(canonical(ledger.snapshot())).toBe(canonical(fresh.snapshot()))
        })
        expect(canonical(ledger.snapshot())).toBe(expected)
      }), { numRuns: 25 })
  })

  it('an unchanged ledger gives the same snapshot object; anything fed that changes it gives a new one', () => {
    const ledger = new Ledger()
    for (const b of items) ledger.add(b)
    const first = ledger.snapshot()
    expect(ledger.snapshot()).toBe(first)
    // Duplicates and refused bytes change nothing.
    ledger.add(items[0]!); ledger.add(new Uint8Array([0xa0]))
    expect(ledger.snapshot()).toBe(first)
    const later = new TestRequester(who(60))
    later.verdict(0, [carol]); later.head()
    ledger.add(later.receipt(0))
    const second = ledger.snapshot()
    expect(second).not.toBe(first)
    expect(credit(second, carol).credit).toBe(credit(first, carol).credit + 1)
    // The requesters not fed since keep their lines as they were.
    expect(second.requesters.filter(r => r.requester !== hex(who(60)))).toEqual(first.requesters)
  })

  it('a head or receipt kept in place of the same claim\'s (a smaller id) is a change: the evidence shows the one kept', () => {
    for (const [later, earlier] of [[main.heads[2]!, mainHeadAgain], [mainHeadAgain, main.heads[2]!]] as const) {
      const ledger = new Ledger()
      feed(ledger, [...alt.heads, earlier])
      ledger.snapshot()
      ledger.add(later)
      const fresh = new Ledger()
      feed(fresh, [...alt.heads, earlier])
      fresh.add(later)
      expect(canonical(ledger.snapshot())).toBe(canonical(fresh.snapshot()))
    }
    // Both heads known before: the receipt kept in place is the only change.
    const main4 = main.receipt(4)
    for (const [later, earlier] of [[alt4, alt4b], [alt4b, alt4]] as const) {
      const ledger = new Ledger()
      feed(ledger, [...main.heads, ...alt.heads, main4, earlier])
      ledger.snapshot()
      ledger.add(later)
      const fresh = new Ledger()
      feed(fresh, [...main.heads, ...alt.heads, main4, earlier])
      fresh.add(later)
      expect(canonical(ledger.snapshot())).toBe(canonical(fresh.snapshot()))
    }
  })
})

describe('missingLeaves (what log catch-up asks for)', () => {
  it('lists the leaf indices below a head size without a held verdict, ascending and capped', () => {
    const r = new TestRequester(who(7))
    for (let i = 0; i < 8; i++) r.verdict(i, [alice])
    r.head()
    const ledger = new Ledger()
    const key = hex(r.identity)
    expect(ledger.missingLeaves(key, 3, 10)).toEqual([0, 1, 2])
    feed(ledger, [r.receipt(1), r.receipt(4), r.receipt(4, r.heads[0])])
    expect(ledger.missingLeaves(key, 8, 10)).toEqual([0, 2, 3, 5, 6, 7])
    expect(ledger.missingLeaves(key, 8, 2)).toEqual([0, 2])
    expect(ledger.missingLeaves(key, 0, 10)).toEqual([])
  })

  it('stays right as gaps fill out of order', () => {
    const r = new TestRequester(who(9))
    for (let i = 0; i < 6; i++) r.verdict(i, [alice])
    r.head()
    const ledger = new Ledger()
    const key = hex(r.identity)
    feed(ledger, [r.receipt(2), r.receipt(0)])
    expect(ledger.missingLeaves(key, 6, 10)).toEqual([1, 3, 4, 5])
    feed(ledger, [r.receipt(1)])
    expect(ledger.missingLeaves(key, 6, 10)).toEqual([3, 4, 5])
    expect(ledger.missingLeaves(key, 3, 10)).toEqual([])
    feed(ledger, [r.receipt(5), r.receipt(3), r.receipt(4)])
    expect(ledger.missingLeaves(key, 6, 10)).toEqual([])
  })

  it('is empty once the requester\'s receipt bound is reached (nothing more would be kept)', () => {
    const r = new TestRequester(who(8))
    for (let i = 0; i < 4; i++) r.verdict(i, [alice])
    r.head()
    const ledger = new Ledger({ limits: { receiptsPerRequester: 2 } })
    feed(ledger, [r.receipt(0)])
    expect(ledger.full(hex(r.identity))).toBe(false)
    feed(ledger, [r.receipt(1)])
    expect(ledger.full(hex(r.identity))).toBe(true)
    expect(ledger.full(hex(who(7)))).toBe(false)
    expect(ledger.missingLeaves(hex(r.identity), 4, 10)).toEqual([])
  })

  it('is empty, and the ledger full, for a requester past the bound on requesters', () => {
    const ledger = new Ledger({ limits: { requesters: 1 } })
    const [a, b] = [new TestRequester(who(5)), new TestRequester(who(6))]
    for (const r of [a, b]) { r.verdict(0, [alice]); r.head() }
    feed(ledger, [a.receipt(0)])
    expect(ledger.full(hex(b.identity))).toBe(true)
    expect(ledger.missingLeaves(hex(b.identity), 1, 10)).toEqual([])
    expect(ledger.full(hex(a.identity))).toBe(false)
  })
})
