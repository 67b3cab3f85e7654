/**
 * A pull flood, in real Chromium over real WebRTC (issue 7, "floods of pulls
 * without completing work"): a Node peer (test/adversary/peer.ts, the app's
 * own libp2p stack) pulls from the requester over /essaim/work/1 on several
 * streams at once, with no pause, and never hands a result in. The
 * requester leases it no more than the per-peer cap, answers its repeated
 * empty pulls about once per wait a stream, its leases run out and go to
 * honest tabs, the job completes correctly, and the requester's heap stays
 * bounded.
 */
import '../../scripts/node22-polyfills.ts'
import { test, expect } from '@playwright/test'
import { WORK_IDLE_WAIT_MS, WORK_MAX_HELD, WORK_MAX_STREAMS_PER_PEER } from '../../src/net/constants.ts'
import { openSwarm, startRelayProcess, type RelayProcess, type Volunteer } from './support/swarm.ts'
import { Adversary, delay } from '../adversary/peer.ts'
import {
  digitsFixture, heapAfterGc, ledgerOf, postDigits, recordResult, startContributing, verified, watchCrashes, wrongDigits
} from '../adversary/swarm.ts'

/** The requester's lease lifetime (`leaseMs` in src/swarm/requester.ts). */
const LEASE_MS = 30_000
/** Shards of 8 digits, 16 more than one peer's lease cap, so the cap is what stops the flooder. */
const DIGITS = 8 * (WORK_MAX_HELD + 16)

/** Most grants that fall within `windowMs` of each other (leases the flooder could hold at once). */
function mostWithin (grants: number[], windowMs: number): number {
  const t = [...grants].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

test('a pull flood that never hands work in: leases capped, expired and reassigned, the job completes, the requester\'s heap bounded', async ({ browser }) => {
  test.setTimeout(240_000)
  const { files, expected } = await digitsFixture(DIGITS)
  const shards = DIGITS / 8
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  let flooder: Adversary | undefined
  const stop = new AbortController()
  try {
    const { requester, volunteers } = await openSwarm(browser, [relay.addr], 2, pages)
    const crashes = watchCrashes(pages.map(p => p.page))
    flooder = await Adversary.start({ relay: relay.addr })
    await flooder.connect(requester.peerId)

    await postDigits(requester.page, files, { perShard: 8 })
    const job = await flooder.waitForJob()
    const heapBefore = await heapAfterGc(requester.page)
    const started = Date.now()
    // Eight pulls at a time (twice the requester's per-peer stream cap), each asking for a full batch.
    const flood = flooder.floodPulls(job, { signal: stop.signal, lanes: 8 })
    // The flooder is alone on the job at first: it gets the cap, then nothing while its leases live.
    await expect.poll(() => flood.stats.grants.length, { timeout: 60_000, message: 'leases granted to the flooder' }).toBe(WORK_MAX_HELD)
    const pullsAtCap = flood.stats.pulls
    await delay(5_000)
    expect(flood.stats.grants.length).toBe(WORK_MAX_HELD)
    expect(flood.stats.pulls, 'the flooder keeps pulling').toBeGreaterThan(pullsAtCap)

    // Honest tabs start: they do the rest, then the flooder's shards once its leases run out.
    for (const v of volunteers) await startContributing(v)
    await expect.poll(async () => await verified(requester.page), { timeout: 180_000, intervals: [1000] }).toEqual([shards, shards])
    await expect(requester.page.getByTestId('job')).toHaveAttribute('data-status', 'done')
    await expect.poll(() => flood.stats.pulls, { message: 'the flood goes on until the job is done' }).toBeGreaterThan(pullsAtCap + 50)
    stop.abort()
    await flood.done
    const seconds = Math.round((Date.now() - started) / 1000)

    // Never more than the cap at once (grants closer together than a lease lifetime, with 2 s of slack for
    // clocks and delivery); after its first leases ran out empty it may get one more round at most, then none
    // (src/core/reputation.ts `stalling`).
    const atOnce = mostWithin(flood.stats.grants, LEASE_MS - 2_000)
    expect(atOnce).toBeLessThanOrEqual(WORK_MAX_HELD)
    expect(flood.stats.grants.length).toBeLessThanOrEqual(2 * WORK_MAX_HELD)
    expect(flooder.stats.handedIn).toBe(0)
    // Answered at most about once per wait a stream (src/net/protocols/work.ts "quiet"), twice that with
    // slack: without that rule, kept streams answered ~770 pulls a second.
    const answerable = seconds * WORK_MAX_STREAMS_PER_PEER * (1000 / WORK_IDLE_WAIT_MS)
    expect(flood.stats.pulls, `pulls answered in ${seconds} s`).toBeLessThan(2 * answerable + 200)
    // Its shards were computed by others: every digit right, and no credit for the flooder anywhere.
    const { shown, wrong } = await wrongDigits(requester.page, expected)
    expect(shown).toBe(DIGITS)
    expect(wrong).toBe(0)
    const ledger = await ledgerOf(requester.page)
    expect(ledger.rows.get(flooder.peerId)?.credit ?? 0).toBe(0)
    for (const v of volunteers) expect(ledger.rows.get(v.peerId)?.credit ?? 0, `credit of ${v.peerId}`).toBeGreaterThan(0)
    // Bounded state: what the flood left on the requester's heap after GC (the job's own results and pages
    // included); the same bound as the fuzz test's (adversary.e2e.ts).
    const growth = await heapAfterGc(requester.page) - heapBefore
    expect(growth, `heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(48 * 2 ** 20)
    expect(crashes).toEqual([])
    recordResult({
      attack: 'Pull flood: one peer pulls over /essaim/work/1 on 8 streams at once, with no pause, and never hands a result in',
      outcome: 'The requester leases it at most the per-peer cap at once and answers its empty-handed pulls, repeated within the wait it was told, about once per wait a stream; its leases run out and are reassigned to the honest tabs, which finish the job; the flooder earns no credit; the requester\'s heap stays bounded',
      figure: `${flood.stats.pulls.toLocaleString('en')} pulls answered (${flood.stats.failed.toLocaleString('en')} refused or failed) in ${seconds} s; ${flood.stats.grants.length} leases granted in all, at most ${atOnce} at once (cap ${WORK_MAX_HELD}), 0 handed in; ${shards}/${shards} shards verified, ${DIGITS}/${DIGITS} digits correct, flooder's credit 0; requester heap growth ${(growth / 2 ** 20).toFixed(1)} MiB after GC`
    })
  } finally {
    stop.abort()
    await flooder?.stop().catch(() => {})
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})
