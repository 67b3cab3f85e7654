/**
 * LogCatchUp (src/swarm/log-catch-up.ts) over a real ledger and real
 * receipts, with the log protocol replaced by a function answering like a
 * requester would (or failing like one that is gone): when it asks, what
 * it asks for, how it retries, when it gives up, and its bounds. The
 * protocol itself is tested between real libp2p nodes in test/unit/net/log.test.ts.
 */
import { describe, it, expect, vi } from 'vitest'
import { logger } from '@libp2p/logger'
import { TestRequester } from '../core/log-fixtures.ts'
import { generateIdentity, type Identity } from '../../../src/core/identity.ts'
import { bytesEqual, toHex } from '../../../src/core/bytes.ts'
import { Ledger } from '../../../src/core/ledger.ts'
import { verdictCredited, verifyReceipt } from '../../../src/core/receipt.ts'
import { LOG_MAX_PAGE } from '../../../src/net/constants.ts'
import { peerIdOf } from '../../../src/net/peer-keys.ts'
import { LogCatchUp, OWN_FROM_KEPT, ownFromStored, type FetchReceipts, type LogCatchUpInit } from '../../../src/swarm/log-catch-up.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function setup (size: number, fetch: (r: TestRequester, indices: number[]) => Promise<Uint8Array[]>, init: Partial<LogCatchUpInit> = {}): {
  r: TestRequester, key: string, ledger: Ledger, catchUp: LogCatchUp, asked: Array<{ peer: string, indices: number[] }>
} {
  const r = new TestRequester(generateIdentity())
  for (let i = 0; i < size; i++) r.verdict(i, [])
  r.head()
  const ledger = new Ledger()
  const asked: Array<{ peer: string, indices: number[] }> = []
  const fetchReceipts: FetchReceipts = async (peer, indices) => {
    asked.push({ peer: peer.toString(), indices })
    const bytes = await fetch(r, indices)
    return bytes.map(b => { const v = verifyReceipt(b); if (!v.ok) throw new Error(v.reason); return { bytes: b, receipt: v } })
  }
  const catchUp = new LogCatchUp({
    ledger, fetchReceipts, take: async b => { ledger.addReceipt(b) }, self: toHex(generateIdentity().publicKey), log: logger('test:catch-up'),
    delayMs: 5, retryMs: 5, retryMaxMs: 20, ...init
  })
  return { r, key: toHex(r.identity.publicKey), ledger, catchUp, asked }
}

describe('LogCatchUp', () => {
  it('asks the head\'s signer for exactly the leaves the ledger lacks', async () => {
    const { r, key, ledger, catchUp, asked } = setup(10, async (r, indices) => indices.map(i => r.receipt(i)))
    for (const i of [0, 1, 4, 9]) ledger.addReceipt(r.receipt(i))
    catchUp.seen(key, 10)
    await expect.poll(() => ledger.missingLeaves(key, 10, 10)).toEqual([])
    expect(asked).toEqual([{ peer: peerIdOf(r.identity.publicKey), indices: [2, 3, 5, 6, 7, 8] }])
    expect(catchUp.pending()).toEqual([])
  })

  it('does nothing when nothing is missing, for its own log, or before the burst has had time to arrive', async () => {
    const self = generateIdentity()
    const { r, key, ledger, catchUp, asked } = setup(3, async (r, indices) => indices.map(i => r.receipt(i)), { self: toHex(self.publicKey), delayMs: 50 })
    for (let i = 0; i < 3; i++) ledger.addReceipt(r.receipt(i))
    catchUp.seen(key, 3)
    catchUp.seen(toHex(self.publicKey), 100)
    expect(catchUp.pending()).toEqual([])
    // Behind, but the missing receipt arrives by gossip during the wait: nothing is asked.
    r.verdict(3, [])
    r.head()
    catchUp.seen(key, 4)
    ledger.addReceipt(r.receipt(3))
    await sleep(100)
    expect(asked).toEqual([])
    expect(catchUp.pending()).toEqual([])
  })

  it('retries a requester that fails, then gives up until a larger head, or the same head heard after retryMaxMs', async () => {
    let calls = 0
    let now = 1_000_000
    const { key, ledger, catchUp, r } = setup(4, async () => { calls++; throw new Error('gone') }, { attempts: 3, now: () => now })
    catchUp.seen(key, 4)
    await expect.poll(() => catchUp.pending()).toEqual([])
    expect(calls).toBe(3)
    catchUp.seen(key, 4)
    await sleep(50)
    expect(calls).toBe(3)
    r.verdict(4, [])
    r.head()
    catchUp.seen(key, 5)
    await expect.poll(() => calls).toBe(6)
    expect(ledger.missingLeaves(key, 5, 10)).toHaveLength(5)
    await expect.poll(() => catchUp.pending()).toEqual([])
    now += 19 // retryMaxMs is 20 in these tests
    catchUp.seen(key, 5)
    await sleep(50)
    expect(calls).toBe(6)
    now += 1
    catchUp.seen(key, 5)
    await expect.poll(() => calls).toBe(9)
    catchUp.stop()
  })

  it('backs off with jitter, and a larger head ends the backoff at once', async () => {
    vi.useFakeTimers()
    try {
      let calls = 0
      let failing = true
      const { key, ledger, catchUp, r } = setup(4, async (r, indices) => {
        calls++
        if (failing) throw new Error('busy')
        return indices.map(i => r.receipt(i))
      }, { delayMs: 10, retryMs: 1_000, retryMaxMs: 60_000, random: () => 0 })
      catchUp.seen(key, 4)
      await vi.advanceTimersByTimeAsync(10)
      expect(calls).toBe(1)
      // Jitter 0 → 70 % of the 1 s base.
      await vi.advanceTimersByTimeAsync(690)
      expect(calls).toBe(1)
      await vi.advanceTimersByTimeAsync(20)
      expect(calls).toBe(2)
      // Second failure: ~1.4 s to wait; a larger head arrives instead and is fetched after the usual short delay.
      failing = false
      r.verdict(4, [])
      r.head()
      catchUp.seen(key, 5)
      await vi.advanceTimersByTimeAsync(10)
      expect(calls).toBe(3)
      expect(ledger.missingLeaves(key, 5, 10)).toEqual([])
      expect(catchUp.pending()).toEqual([])
      catchUp.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it('counts a page that brings nothing as a failure', async () => {
    let calls = 0
    const { key, catchUp } = setup(4, async () => { calls++; return [] }, { attempts: 2 })
    catchUp.seen(key, 4)
    await expect.poll(() => catchUp.pending()).toEqual([])
    expect(calls).toBe(2)
  })

  it('tracks a bounded number of requesters', async () => {
    const { catchUp } = setup(1, async () => await new Promise(() => {}), { maxRequesters: 2, delayMs: 60_000 })
    for (let i = 0; i < 5; i++) catchUp.seen(toHex(generateIdentity().publicKey), 3)
    expect(catchUp.pending()).toHaveLength(2)
    catchUp.stop()
    expect(catchUp.pending()).toEqual([])
  })

  describe('from a requester the ledger is full for', () => {
    /** A requester of `size` verdicts, those at `mine` crediting this peer; a ledger that holds 4 of its receipts (0 – 3, fed). */
    function full (size: number, mine: (leaf: number) => boolean, init: Partial<LogCatchUpInit> | ((key: string) => Partial<LogCatchUpInit>) = {}): {
      r: TestRequester, me: Identity, key: string, catchUp: LogCatchUp, taken: number[], credited: number[]
    } {
      const me = generateIdentity()
      const r = new TestRequester(generateIdentity())
      for (let i = 0; i < size; i++) r.verdict(i, mine(i) ? [me] : [])
      r.head()
      const ledger = new Ledger({ limits: { receiptsPerRequester: 4 } })
      for (let i = 0; i < 4; i++) ledger.addReceipt(r.receipt(i))
      const taken: number[] = []
      const credited: number[] = []
      const catchUp = new LogCatchUp({
        ledger,
        fetchReceipts: async () => { throw new Error('no leaf can be asked for: the ledger keeps no more') },
        fetchCredited: async (_peer, from) => {
          credited.push(from)
          const leaves = r.verdicts.map((_, i) => i).filter(i => i >= from && verdictCredited(r.verdicts[i]!).some(k => bytesEqual(k, me.publicKey)))
          return leaves.slice(0, LOG_MAX_PAGE).map(i => { const b = r.receipt(i); const v = verifyReceipt(b); if (!v.ok) throw new Error(v.reason); return { bytes: b, receipt: v } })
        },
        take: async b => { const v = verifyReceipt(b); if (v.ok) taken.push(v.index) },
        self: toHex(me.publicKey),
        log: logger('test:catch-up'),
        delayMs: 5,
        ...(typeof init === 'function' ? init(toHex(r.identity.publicKey)) : init)
      })
      return { r, me, key: toHex(r.identity.publicKey), catchUp, taken, credited }
    }

    it('asks for the receipts crediting this peer, then only for later ones, at most every ownIntervalMs', async () => {
      let now = 1_000_000
      const mine = [2, 6, 7, 9, 11]
      const { r, me, key, catchUp, taken, credited } = full(10, i => mine.includes(i), { ownIntervalMs: 1_000, now: () => now })
      catchUp.seen(key, 10)
      await expect.poll(() => taken).toEqual([2, 6, 7, 9])
      expect(credited).toEqual([0])
      // Leaves are never asked for one by one (fetchReceipts would fail, and the requester be tracked as behind).
      expect(catchUp.pending()).toEqual([])
      // The log grows: not asked again before the interval, then from where the last round ended.
      for (let i = 10; i < 13; i++) r.verdict(i, mine.includes(i) ? [me] : [])
      r.head()
      catchUp.seen(key, 13)
      await sleep(50)
      expect(credited).toEqual([0])
      now += 1_000
      catchUp.seen(key, 13)
      await expect.poll(() => taken).toEqual([2, 6, 7, 9, 11])
      expect(credited).toEqual([0, 10])
      // A head no larger than what was asked about asks nothing, whenever it comes.
      now += 1_000
      catchUp.seen(key, 13)
      await sleep(50)
      expect(credited).toEqual([0, 10])
      catchUp.stop()
    })

    it('pages through more than a page of them in one round', async () => {
      const { key, catchUp, taken, credited } = full(150, () => true)
      catchUp.seen(key, 150)
      await expect.poll(() => taken.length).toBe(150)
      expect(credited).toEqual([0, LOG_MAX_PAGE, 2 * LOG_MAX_PAGE])
      catchUp.stop()
    })

    it('goes on from where an earlier session got to, and says how far it got', async () => {
      const progress: Array<[string, number]> = []
      // A first session asked about leaves 0 – 5; a receipt crediting us below that is not asked for again.
      const { key, catchUp, taken, credited } = full(10, i => [2, 6, 9].includes(i), key => ({
        ownFrom: new Map([['ab'.repeat(32), 3], [key, 6]]),
        onOwnFrom: (requester, from) => { progress.push([requester, from]) }
      }))
      catchUp.seen(key, 10)
      await expect.poll(() => taken).toEqual([6, 9])
      expect(credited).toEqual([6])
      await expect.poll(() => progress).toEqual([[key, 10]])
      catchUp.stop()
    })

    it('keeps only well-formed progress from storage, and a bounded amount of it', () => {
      const k = (n: number): string => n.toString(16).padStart(64, '0')
      expect(ownFromStored({ [k(1)]: 5, [k(2)]: -1, [k(3)]: 1.5, [k(4)]: '7', XYZ: 3, [k(0xabc).toUpperCase()]: 2 })).toEqual(new Map([[k(1), 5]]))
      for (const junk of [undefined, null, 7, 'x', [k(1), 5]]) expect(ownFromStored(junk)).toEqual(new Map())
      const many = Object.fromEntries(Array.from({ length: OWN_FROM_KEPT + 10 }, (_, i) => [k(i), i]))
      expect(ownFromStored(many).size).toBe(OWN_FROM_KEPT)
    })

    it('asks nothing without a way to ask for them', async () => {
      const { key, catchUp, taken, credited } = full(10, () => true, { fetchCredited: undefined })
      catchUp.seen(key, 10)
      await sleep(50)
      expect([taken, credited, catchUp.pending()]).toEqual([[], [], []])
    })
  })
})
