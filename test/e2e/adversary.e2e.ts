/**
 * Lying volunteers, in real Chromium over real WebRTC: honest tabs and Node
 * adversary peers (test/adversary/peer.ts, the app's own libp2p stack) work
 * on the same digits job. The adversaries speak the real work protocol and
 * sign real attestations; only their answers are wrong.
 */
import '../../scripts/node22-polyfills.ts'
import { test, expect } from '@playwright/test'
import { openVolunteer, startRelayProcess, type RelayProcess, type Volunteer } from './support/swarm.ts'
import { Adversary } from '../adversary/peer.ts'
import { digitsFixture, ledgerOf, postDigits, recordResult, startContributing, verified, watchCrashes, wrongDigits } from '../adversary/swarm.ts'

test('a third of the volunteers collude on one wrong answer: none accepted, all shards verified, liars uncredited and marked faulty', async ({ browser }) => {
  test.setTimeout(300_000)
  const { files, expected } = await digitsFixture(200)
  const relay: RelayProcess = await startRelayProcess()
  const pages: Volunteer[] = []
  const liars: Adversary[] = []
  const stop = new AbortController()
  try {
    const requester = await openVolunteer(browser, [relay.addr])
    pages.push(requester)
    const honest: Volunteer[] = []
    for (let i = 0; i < 4; i++) honest.push(await openVolunteer(browser, [relay.addr]))
    pages.push(...honest)
    const crashes = watchCrashes(pages.map(p => p.page))
    for (let i = 0; i < 2; i++) liars.push(await Adversary.start({ relay: relay.addr }))
    await Promise.all(liars.map(async l => { await l.connect(requester.peerId) }))
    for (const v of honest) await startContributing(v)

    await postDigits(requester.page, files)
    const runs = liars.map(async l => await l.volunteer(await l.waitForJob(), 'collude', { signal: stop.signal }))
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
    // No credit for liars on any page; honest volunteers are credited.
    const ledger = await ledgerOf(requester.page)
    for (const l of liars) expect(ledger.rows.get(l.peerId)?.credit ?? 0, `credit of liar ${l.peerId}`).toBe(0)
    expect([...ledger.rows.values()].reduce((a, r) => a + r.credit, 0)).toBe(ledger.credit)
    expect(crashes).toEqual([])
    recordResult({
      attack: 'Colluding liars (2 of 6 volunteers return the same wrong digits)',
      outcome: 'Both fail their first canary, are marked faulty and get no more work; their answers never reach a verdict',
      figure: `${shown - wrong}/${shown} digits correct, 25/25 shards verified, liars' credit 0, ${liars.reduce((a, l) => a + l.stats.handedIn, 0)} lying results handed in`
    })
  } finally {
    stop.abort()
    await Promise.all(liars.map(async l => { await l.stop().catch(() => {}) }))
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})
