/**
 * Foundation, shown in real Chromium over real WebRTC with a real relay:
 * tabs find each other through the relay, connect directly, keep gossiping
 * when the relay dies, forget closed tabs, and keep their key (held by the
 * browser, not extractable) across reloads;
 * the served build carries its headers, strict CSP and config file, and the
 * config decides whether loopback/private addresses may be dialled.
 */
import { test, expect, type Browser, type Page } from '@playwright/test'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateIdentity, identityFromSeed } from '../../src/core/identity.ts'
import { TestRequester } from '../unit/core/log-fixtures.ts'
import { cspViolations, fullMesh, openVolunteer, ownSeq, peerRows, startRelayProcess, watchCsp, type Volunteer } from './support/swarm.ts'

test('five volunteers form a full direct WebRTC mesh and gossip survives the relay', async ({ browser }) => {
  const relay = await startRelayProcess()
  const vols: Volunteer[] = []
  try {
    for (let i = 0; i < 5; i++) vols.push(await openVolunteer(browser, [relay.addr]))
    const ids = vols.map(v => v.peerId)
    expect(new Set(ids).size).toBe(5)

    // Every page lists the other 4, each over a direct WebRTC connection: 10 pairs.
    await fullMesh(vols)
    // Each row also shows a round-trip time (libp2p's connection monitor pings every 10 s) and a last heartbeat.
    for (const v of vols) {
      await expect.poll(async () => await v.page.getByTestId('peer-row').evaluateAll(rows =>
        rows.filter(r => /\d+ ms/.test(r.textContent ?? '') && Number(r.getAttribute('data-seq')) > 0).length),
      { timeout: 30_000, message: `RTT and heartbeat of every peer at ${v.peerId}` }).toBe(4)
    }

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
    // None of the 10 pairs went through the relay: with it dead, every direct connection is still up.
    await fullMesh(vols, 10_000)
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
      // Listed with a heartbeat: a page closed before its first heartbeat reached a peer is only
      // a connection there, dropped when that connection fails (10–30 s on Chromium 156).
      await expect.poll(async () => (await peerRows(v.page)).some(r => r.peerId === gone.peerId && r.seq > 0), { timeout: 60_000 }).toBe(true)
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

/** How the page's profile stores its key (IndexedDB 'essaim', store 'identity'): never the bytes. */
async function storedKey (page: Page): Promise<unknown> {
  return await page.evaluate(async () => await new Promise((resolve, reject) => {
    const open = indexedDB.open('essaim')
    open.onerror = () => { reject(open.error) }
    open.onsuccess = () => {
      const get = open.result.transaction('identity').objectStore('identity').get('self')
      get.onerror = () => { reject(get.error) }
      get.onsuccess = () => {
        const r = get.result as { key?: CryptoKey, seed?: Uint8Array }
        open.result.close()
        resolve({ seed: 'seed' in r, key: r.key instanceof CryptoKey, extractable: r.key?.extractable, algorithm: r.key?.algorithm.name, usages: r.key?.usages })
      }
    }
  }))
}

test('a reload keeps the peer id; the key is held by the browser, not extractable, and an older profile\'s seed is moved into such a key', async ({ browser }) => {
  const relay = await startRelayProcess()
  const v = await openVolunteer(browser, [relay.addr])
  const held = { seed: false, key: true, extractable: false, algorithm: 'Ed25519', usages: ['sign'] }
  try {
    expect(v.peerId).toMatch(/^12D3KooW/)
    expect(await storedKey(v.page)).toEqual(held)
    await expect(v.page.getByTestId('own-key')).toHaveAttribute('data-held', 'browser')
    await v.page.reload()
    await expect(v.page.getByTestId('own-peer-id')).toHaveText(v.peerId)

    // A profile from before keys were held by the browser kept the seed: it keeps its peer id.
    const seed = new Uint8Array(32).fill(42)
    const oldPeerId = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString()
    await v.page.evaluate(async bytes => await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open('essaim')
      open.onsuccess = () => {
        const tx = open.result.transaction('identity', 'readwrite')
        tx.objectStore('identity').put({ seed: new Uint8Array(bytes), createdAt: 1 }, 'self')
        tx.oncomplete = () => { open.result.close(); resolve() }
        tx.onerror = () => { reject(tx.error) }
      }
    }), [...seed])
    await v.page.reload()
    await expect(v.page.getByTestId('own-peer-id')).toHaveText(oldPeerId)
    expect(await storedKey(v.page)).toEqual(held)
    // A different profile gets a different key.
    const other = await openVolunteer(browser, [relay.addr])
    expect(other.peerId).not.toBe(v.peerId)
    await other.context.close()
  } finally {
    await v.context.close()
    await relay.kill()
  }
})

test('a profile from an older version (database version 3, receipts kept by id) opens with the credit it had', async ({ browser }) => {
  const relay = await startRelayProcess()
  const context = await browser.newContext()
  try {
    // The profile's key (as an older version kept it) and three receipts crediting it, two of one verdict.
    const seed = new Uint8Array(32).fill(7)
    const me = identityFromSeed(seed)
    const requester = new TestRequester(generateIdentity())
    requester.verdict(0, [me])
    requester.verdict(1, [me])
    requester.head()
    const receipts = [requester.receipt(0), requester.receipt(1)]
    requester.verdict(2, [generateIdentity()])
    requester.head()
    receipts.push(requester.receipt(0))
    // Written on the app's origin before the app ever opens its database there.
    const page = await context.newPage()
    await page.goto('/essaim.config.json')
    await page.evaluate(async ({ seed, receipts }) => await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open('essaim', 3)
      open.onupgradeneeded = () => {
        for (const store of ['identity', 'models', 'kv', 'jobs', 'inputs', 'outputs', 'log', 'receipts']) open.result.createObjectStore(store)
        const tx = open.transaction!
        tx.objectStore('models').createIndex('by-size', 'size')
        tx.objectStore('identity').put({ seed: new Uint8Array(seed), createdAt: 1 }, 'self')
        receipts.forEach((r, i) => tx.objectStore('receipts').put({ receipt: new Uint8Array(r), requester: 'r', jobId: 'j', shard: i % 2, receivedAt: i }, `id-${i}`))
      }
      open.onsuccess = () => { open.result.close(); resolve() }
      open.onerror = () => { reject(open.error) }
    }), { seed: [...seed], receipts: receipts.map(r => [...r]) })
    await page.goto(`/?relay=${encodeURIComponent(relay.addr)}#/volunteer`)
    await expect(page.getByTestId('own-peer-id')).toHaveText(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString())
    // One credit per verdict; the database was moved to the current version.
    await expect(page.getByTestId('my-credit')).toHaveAttribute('data-credit', '2')
    expect(await page.evaluate(async () => (await indexedDB.databases()).find(d => d.name === 'essaim')?.version)).toBeGreaterThan(3)
    await page.reload()
    await expect(page.getByTestId('my-credit')).toHaveAttribute('data-credit', '2')
  } finally {
    await context.close()
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

test('the served build has the isolation headers, a strict CSP and its config file, and the app runs under that CSP', async ({ browser, request }) => {
  const res = await request.get('/')
  expect(res.ok()).toBe(true)
  const headers = res.headers()
  expect(headers['cross-origin-opener-policy']).toBe('same-origin')
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp')
  const csp = new Map((headers['content-security-policy'] ?? '').split(';').map(d => d.trim().split(/\s+/)).map(([name, ...values]) => [name ?? '', values]))
  expect(csp.get('default-src')).toEqual(["'self'"])
  // Scripts only from our origin; WebAssembly may compile, nothing may eval.
  expect(csp.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"])
  // Styles only from our stylesheets: no inline style attribute or element applies.
  expect(csp.get('style-src')).toEqual(["'self'"])
  expect(csp.get('object-src')).toEqual(["'none'"])
  expect(csp.get('base-uri')).toEqual(["'none'"])
  expect(csp.get('frame-ancestors')).toEqual(["'none'"])

  const config = await (await request.get('/essaim.config.json')).json() as { relays?: unknown, allowPrivateAddresses?: unknown }
  expect(Array.isArray(config.relays)).toBe(true)
  expect(config.allowPrivateAddresses).toBe(true)

  const context = await browser.newContext()
  await watchCsp(context)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', m => { if (/Content Security Policy/i.test(m.text())) problems.push(m.text()) })
  page.on('pageerror', err => problems.push(err.message))
  try {
    await page.goto('/#/volunteer')
    await expect(page.getByTestId('own-peer-id')).toHaveText(/^12D3KooW/)
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true)
    expect(await cspViolations(page)).toEqual([])
    expect(problems).toEqual([])
  } finally {
    await context.close()
  }
})

/** A page whose served `essaim.config.json` is `config` (service workers off, so the route sees the fetch), with no `?relay=`. */
async function openWithConfig (browser: Browser, config: object): Promise<Volunteer> {
  const context = await browser.newContext({ serviceWorkers: 'block' })
  await context.route('**/essaim.config.json', async route => { await route.fulfill({ json: config }) })
  const page = await context.newPage()
  page.on('pageerror', err => { console.error(`[page error] ${err.message}`) })
  await page.goto('/#/volunteer')
  const peerId = (await page.getByTestId('own-peer-id').textContent({ timeout: 30_000 }))?.trim() ?? ''
  return { context, page, peerId }
}

test('relays come from the config file; a loopback relay is dialled only when the config allows private addresses', async ({ browser }) => {
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    // A public deployment's config (no allowPrivateAddresses): the dial gate refuses the loopback relay.
    const strict = await openWithConfig(browser, { relays: [relay.addr] })
    pages.push(strict)
    const status = strict.page.getByTestId('relay-status')
    await expect(status).toHaveAttribute('data-status', 'retrying', { timeout: 30_000 })
    await expect(status).toContainText('connection gater denied')

    // A local config: the same relay, from the file alone, is reached, and two such tabs connect directly.
    for (let i = 0; i < 2; i++) pages.push(await openWithConfig(browser, { relays: [relay.addr], allowPrivateAddresses: true }))
    const local = pages.slice(1)
    for (const v of local) await expect(v.page.getByTestId('relay-status')).toHaveAttribute('data-status', 'connected', { timeout: 30_000 })
    await fullMesh(local, 60_000)
    await expect(status).not.toHaveAttribute('data-status', 'connected')
    expect((await peerRows(strict.page)).map(r => r.peerId)).toEqual([])
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close() }))
    await relay.kill()
  }
})
