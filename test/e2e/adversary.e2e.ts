/**
 * Lying volunteers, in real Chromium over real WebRTC: honest tabs and Node
 * adversary peers (test/adversary/peer.ts, the app's own libp2p stack) work
 * on the same digits job. The adversaries speak the real work protocol and
 * sign real attestations; only their answers are wrong.
 */
import '../../scripts/node22-polyfills.ts'
import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { PROTOCOL_BLOB, PROTOCOL_WORK, TOPIC_LOG } from '../../src/net/constants.ts'
import { SCORE_THRESHOLDS } from '../../src/net/scoring.ts'
import { publicKeyOf } from '../../src/net/peer-keys.ts'
import { FUZZ_TOPICS, blobFrames, fuzzSamples, gossipPayload, workFrames } from '../adversary/fuzz.ts'
import { openSwarm, openVolunteer, peerRows, startRelayProcess, type RelayProcess, type Volunteer } from './support/swarm.ts'
import { Adversary, delay } from '../adversary/peer.ts'
import { digitsFixture, heapAfterGc, ledgerOf, postDigits, recordResult, startContributing, verified, watchCrashes, wrongDigits } from '../adversary/swarm.ts'

test('a third of the volunteers collude on one wrong answer: none accepted, all shards verified, liars uncredited and marked faulty', async ({ browser }) => {
  test.setTimeout(300_000)
  const { files, expected } = await digitsFixture(200)
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  const liars: Adversary[] = []
  const stop = new AbortController()
  try {
    const { requester, volunteers: honest } = await openSwarm(browser, [relay.addr], 4, pages)
    const crashes = watchCrashes(pages.map(p => p.page))
    for (let i = 0; i < 2; i++) liars.push(await Adversary.start({ relay: relay.addr }))
    await Promise.all(liars.map(async l => { await l.connect(requester.peerId) }))

    // The liars take work first: four honest tabs could otherwise finish 25 shards before a liar's first pull.
    await postDigits(requester.page, files, { perShard: 8 })
    const runs = liars.map(async l => await l.volunteer(await l.waitForJob(), 'collude', { signal: stop.signal }))
    await expect.poll(() => Math.min(...liars.map(l => l.stats.assignments)), { timeout: 60_000, message: 'shards leased to every liar' }).toBeGreaterThan(0)
    for (const v of honest) await startContributing(v)
    await expect.poll(async () => await verified(requester.page), { timeout: 240_000, intervals: [1000] }).toEqual([25, 25])
    await expect(requester.page.getByTestId('job')).toHaveAttribute('data-status', 'done')
    stop.abort()
    await Promise.all(runs)

    // The liars did take work and hand in answers…
    for (const l of liars) expect(l.stats.handedIn, `${l.peerId} handed in`).toBeGreaterThan(0)
    // …none of which made it into the results.
    const { shown, wrong } = await wrongDigits(requester.page, expected)
    expect(shown).toBe(200)
    expect(wrong).toBe(0)
    // Both liars are marked faulty on the job page.
    const faulty = requester.page.getByText('Failed a canary')
    for (const l of liars) await expect(faulty).toContainText(l.peerId.slice(-6))
    // Down-scored: the requester's gossipsub graylists both liars (its peer list shows their score).
    for (const l of liars) {
      await expect.poll(async () => await scoreOn(requester.page, l.peerId) ?? 0, { timeout: 30_000, message: `score of liar ${l.peerId}` }).toBeLessThan(GRAYLIST)
    }
    const liarScores = await Promise.all(liars.map(async l => await scoreOn(requester.page, l.peerId)))
    // No credit for liars on any page; honest volunteers are credited.
    const ledger = await ledgerOf(requester.page)
    for (const l of liars) expect(ledger.rows.get(l.peerId)?.credit ?? 0, `credit of liar ${l.peerId}`).toBe(0)
    expect([...ledger.rows.values()].reduce((a, r) => a + r.credit, 0)).toBe(ledger.credit)
    // A reload does not make the requester trust them again: it restores them as faulty (and gives them no work).
    await requester.page.goto(requester.page.url().replace(/#.*$/, '#/job'))
    await requester.page.reload()
    await expect(requester.page.getByTestId('job')).toHaveAttribute('data-status', 'done')
    for (const l of liars) await expect(requester.page.getByText('Failed a canary')).toContainText(l.peerId.slice(-6))
    expect(crashes).toEqual([])
    recordResult({
      attack: 'Colluding liars (2 of 6 volunteers return the same wrong digits)',
      outcome: 'Both fail their first canary, are marked faulty and get no more work, also after the requester reloads; their answers never reach a verdict; the requester graylists them in gossipsub',
      figure: `${shown - wrong}/${shown} digits correct, 25/25 shards verified, liars' credit 0, ${liars.reduce((a, l) => a + l.stats.handedIn, 0)} lying results handed in, liars' gossip score ${liarScores.map(x => Math.round(x ?? 0)).join(' and ')} (graylist below ${GRAYLIST})`
    })
  } finally {
    stop.abort()
    await Promise.all(liars.map(async l => { await l.stop().catch(() => {}) }))
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

/** Gossipsub's graylist threshold (src/net/scoring.ts): below it a page drops everything the peer sends. */
const GRAYLIST = SCORE_THRESHOLDS.graylistThreshold

/** The gossipsub score `page` shows for `peerId` on its peer list (the Volunteer page), or undefined when the peer is not listed. */
async function scoreOn (page: Page, peerId: string): Promise<number | undefined> {
  if (!page.url().endsWith('#/volunteer')) await page.goto(page.url().replace(/#.*$/, '#/volunteer'))
  const raw = await page.locator(`[data-testid="peer-row"][data-peer-id="${peerId}"]`).first().getAttribute('data-score', { timeout: 1_000 }).catch(() => null)
  return raw === null || raw === '' ? undefined : Number(raw)
}

/** What `page` caught `peerId` doing, as its peer list shows it, or undefined. */
async function penaltyOn (page: Page, peerId: string): Promise<string | undefined> {
  if (!page.url().endsWith('#/volunteer')) await page.goto(page.url().replace(/#.*$/, '#/volunteer'))
  const raw = await page.locator(`[data-testid="peer-row"][data-peer-id="${peerId}"]`).first().getAttribute('data-penalty', { timeout: 1_000 }).catch(() => null)
  return raw === null || raw === '' ? undefined : raw
}

/** Polls the peer list of each page until `stop` aborts; resolves with the lowest score each page showed for `peerId`. */
async function lowestScores (pages: Page[], peerId: string, stop: AbortSignal): Promise<number[]> {
  const lowest = pages.map(() => Infinity)
  while (!stop.aborted) {
    await Promise.all(pages.map(async (p, i) => {
      const score = await scoreOn(p, peerId).catch(() => undefined)
      if (score !== undefined) lowest[i] = Math.min(lowest[i]!, score)
    }))
    await delay(250)
  }
  return lowest
}

/** FUZZ_SCALE=0.1 runs a tenth of the fuzz (for quick local runs); the suite runs it whole. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const LANES = 16


test('10,000 fuzzed gossip and stream messages and wrong model bytes from peers: all refused, no crash, bounded heap, the job completes correctly', async ({ browser }) => {
  test.setTimeout(360_000)
  const { files, expected } = await digitsFixture(200)
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  const adversaries: Adversary[] = []
  try {
    const { requester, volunteers: honest } = await openSwarm(browser, [relay.addr], 2, pages)
    const crashes = watchCrashes(pages.map(p => p.page))
    // A peer advertising the digits model in presence and serving wrong bytes of the right length for it.
    const digits = JSON.parse(readFileSync(join('models', 'catalog.json'), 'utf8')).models.find((m: { id: string }) => m.id === 'digits') as { sha256: string, bytes: number }
    const wrong = new Uint8Array(digits.bytes).fill(0x42)
    const modelLiar = await Adversary.start({ relay: relay.addr, models: [digits.sha256], blobs: new Map([[digits.sha256, wrong]]) })
    const fuzzer = await Adversary.start({ relay: relay.addr })
    adversaries.push(modelLiar, fuzzer)
    for (const a of adversaries) for (const p of pages) await a.connect(p.peerId)
    // Every tab has heard the model liar's heartbeat (so it is a model source for them).
    for (const p of pages) await expect.poll(async () => await p.page.getByTestId('peer-row').evaluateAll(rs => rs.map(r => r.getAttribute('data-peer-id'))), { timeout: 60_000 }).toContain(modelLiar.peerId)
    const heapBefore = await Promise.all(pages.map(async p => await heapAfterGc(p.page)))
    for (const v of honest) await startContributing(v)

    await postDigits(requester.page, files, { perShard: 8 })
    const job = await fuzzer.waitForJob()
    // The volunteers ask the model liar for the model (the only peer advertising it at first), refuse its bytes
    // by hash and graylist it, then fetch the model elsewhere. Settled before the fuzz, so that a fetch slowed
    // down by the fuzz cannot leave this property untested.
    const refusers = async (): Promise<Volunteer[]> => {
      const penalties = await Promise.all(pages.map(async p => await penaltyOn(p.page, modelLiar.peerId)))
      return pages.filter((_p, k) => penalties[k] === 'wrong-blob')
    }
    await expect.poll(async () => (await refusers()).length, { timeout: 60_000, message: 'a page refused the model liar\'s bytes' }).toBeGreaterThan(0)
    const refusedBy = await refusers()
    for (const p of refusedBy) await expect.poll(async () => await scoreOn(p.page, modelLiar.peerId) ?? 0, { timeout: 30_000, message: 'the model liar graylisted by a page that refused its bytes' }).toBeLessThan(GRAYLIST)
    expect(modelLiar.stats.blobServes).toBeGreaterThan(0)

    // The fuzz: 9,400 gossip messages spread over the four topics, 600 hostile stream exchanges.
    for (const t of FUZZ_TOPICS) fuzzer.subscribe(t)
    const kinds = new Map<string, number>()
    const count = (k: string): void => { kinds.set(k, (kinds.get(k) ?? 0) + 1) }
    const samples = fuzzSamples(fuzzer)
    let gossip = 0
    const gossipRun = (async () => {
      for (let batch = 0; batch < 94 * SCALE; batch++) {
        await Promise.all(Array.from({ length: 100 }, async (_x, i) => {
          const topic = FUZZ_TOPICS[(batch * 100 + i) % FUZZ_TOPICS.length]!
          const m = gossipPayload(fuzzer, topic, samples)
          count(`gossip:${m.kind}`)
          await fuzzer.publishRaw(topic, m.bytes).then(() => { gossip++ }, () => {})
        }))
        await delay(20)
      }
    })()
    let streams = 0
    let answered = 0
    const streamRun = (async () => {
      const targets = [peerIdFromString(requester.peerId), ...honest.map(h => peerIdFromString(h.peerId))]
      await Promise.all(Array.from({ length: LANES }, (_x, l) => l).map(async lane => {
        for (let i = lane; i < 600 * SCALE; i += LANES) {
          const target = targets[i % targets.length]!
          const f = i % 2 === 0 ? workFrames(job.id) : blobFrames()
          count(`${i % 2 === 0 ? 'work' : 'blob'}:${f.kind}`)
          const r = await fuzzer.rawStream(target, i % 2 === 0 ? PROTOCOL_WORK : PROTOCOL_BLOB, f.chunks, { timeoutMs: 800 })
          streams++
          if (r.ok && r.bytes > 0) answered++
        }
      }))
    })()
    const watching = new AbortController()
    const fuzzerScores = lowestScores(pages.map(p => p.page), fuzzer.peerId, watching.signal)
    const t0 = Date.now()
    await gossipRun
    console.log(`gossip: ${gossip} in ${Date.now() - t0} ms`)
    await streamRun
    console.log(`streams: ${streams} (${answered} answered) in ${Date.now() - t0} ms`)
    expect(gossip + streams).toBeGreaterThanOrEqual(10_000 * SCALE)
    watching.abort()
    // Every page graylisted the fuzzer: from then on its gossip was dropped unread.
    const fuzzerLowest = await fuzzerScores
    for (const [i, score] of fuzzerLowest.entries()) expect(score, `fuzzer's score on page ${i}`).toBeLessThan(GRAYLIST)
    await requester.page.goto(requester.page.url().replace(/#.*$/, '#/job'))

    // Honest work continues and completes, with the right answers.
    await expect.poll(async () => await verified(requester.page), { timeout: 240_000, intervals: [1000] }).toEqual([25, 25])
    const { shown, wrong: wrongCount } = await wrongDigits(requester.page, expected)
    expect(shown).toBe(200)
    expect(wrongCount).toBe(0)
    // The pages that refused the model liar's bytes computed with the right ones (from another source), and
    // still graylist it if they list it at all (its heartbeats are dropped unread, so once its connection closes
    // it is no longer listed).
    for (const p of refusedBy) {
      const score = await scoreOn(p.page, modelLiar.peerId)
      if (score !== undefined) expect(score, 'the model liar still graylisted').toBeLessThan(GRAYLIST)
    }
    for (const v of honest) await expect.poll(async () => Number(await v.page.getByTestId('my-credit').getAttribute('data-credit')), { timeout: 30_000 }).toBeGreaterThan(0)

    // Nothing the fuzzer sent took effect: no forged peer listed, no job but the real one was worked on,
    // the ledger holds only the real requester's verdicts, and no page crashed.
    const known = new Set([...pages.map(p => p.peerId), ...adversaries.map(a => a.peerId)])
    for (const p of pages) {
      const listed = await p.page.getByTestId('peer-row').evaluateAll(rs => rs.map(r => r.getAttribute('data-peer-id') ?? ''))
      for (const id of listed) expect(known.has(id), `unexpected peer ${id}`).toBe(true)
    }
    const ledgers = await Promise.all(pages.map(async p => await ledgerOf(p.page)))
    for (const l of ledgers) {
      expect(l.forks).toBe(0)
      expect(l.rows.has(fuzzer.peerId)).toBe(false)
      expect([...l.rows.values()].reduce((a, r) => a + r.credit, 0)).toBe(l.credit)
    }
    expect(crashes).toEqual([])
    const heapAfter = await Promise.all(pages.map(async p => await heapAfterGc(p.page)))
    const growth = Math.max(...heapAfter.map((h, i) => h - heapBefore[i]!))
    expect(growth, `heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(48 * 2 ** 20)

    recordResult({
      attack: 'Fuzz: forged, re-signed, wrong-kind, stale, oversized, malformed and random messages on every topic and stream protocol, from one peer',
      outcome: 'Every message refused by the topic validators or frame checks (nothing listed, credited or worked on); every page graylists the fuzzer in gossipsub; malformed stream frames get an error frame; no page error; the job completes',
      figure: `${gossip.toLocaleString('en')} gossip + ${streams.toLocaleString('en')} stream messages (${answered} answered with an error frame), ${kinds.size} kinds, 0 accepted; fuzzer's score ≤ ${Math.round(Math.max(...fuzzerLowest))} on every page (graylist below ${GRAYLIST}); max heap growth ${(growth / 2 ** 20).toFixed(1)} MiB after GC; 25/25 shards, 0 wrong digits`
    })
    recordResult({
      attack: 'Wrong model bytes served over /essaim/blob/1 by a peer advertising the model hash',
      outcome: 'Refused by the sha256 check, the peer is skipped and graylisted, and the model comes from another source; volunteers compute correct results',
      figure: `${modelLiar.stats.blobServes} wrong serves asked for, 0 used; refused and graylisted by ${refusedBy.length} of ${pages.length} pages; 200/200 digits correct`
    })
  } finally {
    await Promise.all(adversaries.map(async a => { await a.stop().catch(() => {}) }))
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('an equivocating requester (two signed roots for one log size): every observer shows fork evidence and does not count its credit', async ({ browser }) => {
  test.setTimeout(180_000)
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  let liar: Adversary | undefined
  try {
    for (let i = 0; i < 3; i++) pages.push(await openVolunteer(browser, [relay.addr]))
    const crashes = watchCrashes(pages.map(p => p.page))
    liar = await Adversary.start({ relay: relay.addr })
    for (const p of pages) await liar.connect(p.peerId)
    liar.subscribe(TOPIC_LOG)
    // The receipts credit the first observer: a forked requester's credit must not count, even for an innocent peer.
    const beneficiary = pages[0]!
    const [a, b] = liar.equivocation([publicKeyOf(beneficiary.peerId)!])
    await delay(2_000)
    await liar.publishRaw(TOPIC_LOG, a)
    await liar.publishRaw(TOPIC_LOG, b)
    for (const p of pages) {
      await expect.poll(async () => (await ledgerOf(p.page)).forks, { timeout: 60_000, message: `fork evidence on ${p.peerId}` }).toBeGreaterThan(0)
      await expect(p.page.getByTestId('fork-evidence')).toBeVisible()
      const row = p.page.locator(`[data-testid="ledger-row"][data-peer="${beneficiary.peerId}"]`)
      await expect(row).toHaveAttribute('data-credit', '0')
      const flagged = Number(await row.locator('td').nth(4).textContent())
      expect(flagged, 'flagged credit').toBeGreaterThan(0)
    }
    expect(crashes).toEqual([])
    recordResult({
      attack: 'Equivocating requester: two signed tree heads with the same size and different roots, in receipts on essaim/log/1',
      outcome: 'Every observer keeps both heads as same-size fork evidence, shows it on the Ledger page and flags (does not count) that requester\'s credit',
      figure: `${pages.length}/${pages.length} observers show fork evidence; counted credit from the forked requester 0`
    })
  } finally {
    await liar?.stop().catch(() => {})
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('the relay killed mid-job: the job completes over the direct connections', async ({ browser }) => {
  test.setTimeout(240_000)
  const { files, expected } = await digitsFixture(200)
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const { requester, volunteers: honest } = await openSwarm(browser, [relay.addr], 2, pages)
    const crashes = watchCrashes(pages.map(p => p.page))
    for (const v of honest) await startContributing(v)
    // Direct both ways: a recipient lists a connection as soon as its side is up,
    // and without the relay a dial its dialer gave up on is never retried.
    for (const v of honest) {
      await expect.poll(async () => (await peerRows(v.page)).find(r => r.peerId === requester.peerId)?.link, { timeout: 90_000 }).toBe('direct-webrtc')
      await expect.poll(async () => (await peerRows(requester.page)).find(r => r.peerId === v.peerId)?.link, { timeout: 90_000 }).toBe('direct-webrtc')
    }
    await postDigits(requester.page, files, { perShard: 8 })
    await expect.poll(async () => (await verified(requester.page))[0], { timeout: 120_000, intervals: [250] }).toBeGreaterThan(0)
    const atKill = (await verified(requester.page))[0]
    await relay.kill()
    await expect.poll(async () => await verified(requester.page), { timeout: 180_000, intervals: [1000] }).toEqual([25, 25])
    const { shown, wrong } = await wrongDigits(requester.page, expected)
    expect(shown).toBe(200)
    expect(wrong).toBe(0)
    expect(crashes).toEqual([])
    recordResult({
      attack: 'Relay killed mid-job',
      outcome: 'Volunteers keep pulling and handing in over their direct WebRTC connections; the job completes',
      figure: `relay killed at ${atKill}/25 shards verified; 25/25 verified after, 0 wrong digits`
    })
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})
