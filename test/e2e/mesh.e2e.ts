/**
 * Foundation, shown in real Chromium over real WebRTC with a real relay:
 * tabs find each other through the relay, connect directly, keep gossiping
 * when the relay dies, forget closed tabs, and keep their key across reloads.
 */
import { test, expect } from '@playwright/test'
import { fullMesh, openVolunteer, ownSeq, peerRows, startRelayProcess, type Volunteer } from './support/swarm.ts'

test('five volunteers form a full direct WebRTC mesh and gossip survives the relay', async ({ browser }) => {
  const relay = await startRelayProcess()
  const vols: Volunteer[] = []
  try {
    for (let i = 0; i < 5; i++) vols.push(await openVolunteer(browser, [relay.addr]))
    const ids = vols.map(v => v.peerId)
    expect(new Set(ids).size).toBe(5)

    // Every page lists the other 4, each over a direct WebRTC connection: 10 pairs.
    await fullMesh(vols)

    await relay.kill()
    const [sender, ...others] = vols as [Volunteer, ...Volunteer[]]
    const seqAtKill = await ownSeq(sender.page)
    // Wait until the sender has published a heartbeat after the relay died…
    await expect.poll(async () => await ownSeq(sender.page), { timeout: 20_000 }).toBeGreaterThan(seqAtKill)
    const published = await ownSeq(sender.page)
    // …and that message reaches all 4 others over the direct connections.
    for (const v of others) {
      await expect.poll(async () => (await peerRows(v.page)).find(r => r.peerId === sender.peerId)?.seq ?? 0,
        { timeout: 20_000, message: `heartbeat ${published} from ${sender.peerId} at ${v.peerId}` }).toBeGreaterThanOrEqual(published)
    }
  } finally {
    await Promise.all(vols.map(async v => { await v.context.close() }))
    await relay.kill()
  }
})

test('a closed page is dropped from the others\' lists within a few heartbeats', async ({ browser }) => {
  const relay = await startRelayProcess()
  const vols: Volunteer[] = []
  try {
    for (let i = 0; i < 3; i++) vols.push(await openVolunteer(browser, [relay.addr]))
    const [a, b, gone] = vols as [Volunteer, Volunteer, Volunteer]
    for (const v of [a, b]) {
      await expect.poll(async () => (await peerRows(v.page)).map(r => r.peerId), { timeout: 60_000 }).toContain(gone.peerId)
    }
    await gone.context.close()
    for (const v of [a, b]) {
      // A killed tab's WebRTC connection can look open for 10–30 s; 3 missed heartbeats at 2 s
      // (checked every second) drop it sooner. Slack for a loaded machine.
      await expect.poll(async () => (await peerRows(v.page)).map(r => r.peerId), { timeout: 15_000 }).not.toContain(gone.peerId)
    }
  } finally {
    await Promise.all(vols.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('a reload keeps the peer id', async ({ browser }) => {
  const relay = await startRelayProcess()
  const v = await openVolunteer(browser, [relay.addr])
  try {
    expect(v.peerId).toMatch(/^12D3KooW/)
    await v.page.reload()
    await expect(v.page.getByTestId('own-peer-id')).toHaveText(v.peerId)
    // A different profile gets a different key.
    const other = await openVolunteer(browser, [relay.addr])
    expect(other.peerId).not.toBe(v.peerId)
    await other.context.close()
  } finally {
    await v.context.close()
    await relay.kill()
  }
})

test('an unreachable relay shows a retrying state and a malformed ?relay= a clear message', async ({ browser }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  const dead = '/ip4/127.0.0.1/tcp/9/ws/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
  await page.goto(`/?relay=${encodeURIComponent(dead)}&relay=not-a-multiaddr&relay=${encodeURIComponent('/ip4/127.0.0.1/tcp/1')}#/volunteer`)
  await expect(page.getByTestId('config-problems')).toContainText('"not-a-multiaddr" is not a multiaddr')
  await expect(page.getByTestId('config-problems')).toContainText('is not a WebSocket address')
  const status = page.getByTestId('relay-status')
  await expect(status).toHaveCount(1)
  await expect(status).toHaveAttribute('data-status', 'retrying', { timeout: 30_000 })
  await expect(status).toContainText('cannot reach relay')
  await expect(status).toContainText(/retrying in \d+ s/)
  // Still alive: the page keeps its identity and UI.
  await expect(page.getByTestId('own-peer-id')).toHaveText(/^12D3KooW/)
  expect(errors).toEqual([])
  await context.close()
})
