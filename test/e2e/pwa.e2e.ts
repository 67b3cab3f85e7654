/**
 * The volunteer experience in real Chromium: the installable PWA (offline
 * reload from the service worker, still cross-origin isolated; the update
 * prompt), the power gate (a phone on battery in a swarm with a real job
 * computes nothing until plugged in; no Battery API; hidden tab; two tabs of
 * one profile), and screenshots of the Volunteer dashboard after real work,
 * at phone and desktop sizes, into docs/screenshots/ for review.
 *
 * The battery and page visibility are driven by init scripts that replace
 * `navigator.getBattery` and `document.visibilityState` with controllable
 * fakes; everything else (Web Locks, BroadcastChannel, service worker, Cache
 * Storage) is the browser's own.
 */
import { test, expect, devices, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { appendFile, cp, mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { preview } from 'vite'
import { isolationHeaders } from '../../scripts/headers.ts'
import { fullMesh, openVolunteer, startRelayProcess, volunteerUrl, type Volunteer } from './support/swarm.ts'
import { digitsFixture, postDigits, startContributing, verified } from './support/digits.ts'

const reason = (page: Page): ReturnType<Page['getByTestId']> => page.getByTestId('pause-reason')

/** Waits until the service worker has installed (precache complete) and controls the page. */
async function controlled (page: Page): Promise<void> {
  await page.evaluate(async () => { await navigator.serviceWorker.ready })
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null)
}

/** Replaces the Battery API with a fake the test drives through `window.__battery(charging, level)`. */
async function fakeBattery (context: BrowserContext, initial: { charging: boolean, level: number }): Promise<void> {
  await context.addInitScript((init) => {
    const bm = new EventTarget() as EventTarget & { charging: boolean, level: number }
    bm.charging = init.charging
    bm.level = init.level
    Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: async () => bm })
    Object.defineProperty(window, '__battery', {
      value: (charging: boolean, level: number) => {
        const changed = charging !== bm.charging
        bm.charging = charging
        bm.level = level
        if (changed) bm.dispatchEvent(new Event('chargingchange'))
        bm.dispatchEvent(new Event('levelchange'))
      }
    })
  }, initial)
}

/** Makes `document.visibilityState` controllable through `window.__hide(hidden)`. */
async function fakeVisibility (context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    let hidden = false
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' })
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden })
    Object.defineProperty(window, '__hide', {
      value: (h: boolean) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')) }
    })
  })
}

/** A phone (Pixel 7 emulation) with a fake battery, in its own context, joined to the relays. */
async function openPhone (browser: Browser, relays: string[], battery: { charging: boolean, level: number }): Promise<Volunteer> {
  const context = await browser.newContext({ ...devices['Pixel 7'], viewport: { width: 390, height: 844 } })
  await fakeBattery(context, battery)
  const page = await context.newPage()
  page.on('pageerror', err => { console.error(`[phone page error] ${err.message}`) })
  await page.goto(volunteerUrl(relays))
  const peerId = (await page.getByTestId('own-peer-id').textContent({ timeout: 30_000 }))?.trim() ?? ''
  return { context, page, peerId }
}

test('after a first visit the app reloads offline from the service worker, still cross-origin isolated', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto('/#/volunteer')
    await expect(page.locator('link[rel="manifest"]')).toHaveAttribute('href', '/manifest.webmanifest')
    const manifest = await page.evaluate(async () => await (await fetch('/manifest.webmanifest')).json() as { name: string, icons: Array<{ src: string, purpose: string }> })
    expect(manifest.name).toBe('Essaim')
    expect(manifest.icons.map(i => i.purpose)).toContain('maskable')
    await controlled(page)

    // The ORT runtime is precached; models are not (they are cached on first use elsewhere).
    const cached = await page.evaluate(async () => {
      const urls: string[] = []
      for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname)
      return urls
    })
    expect(cached.filter(u => u.endsWith('.wasm')).length).toBeGreaterThanOrEqual(1)
    expect(cached).toContain('/index.html')
    expect(cached.some(u => u.startsWith('/models/'))).toBe(false)
    // The WebGPU build of the runtime is kept on first use only (this machine has no GPU: the page fetches it here).
    expect(cached.some(u => u.includes('asyncify'))).toBe(false)
    const gpuWasm = await page.evaluate(async () => {
      const sw = await (await fetch('/sw.js')).text()
      const path = /assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm/.exec(sw)?.[0]
      if (path === undefined) return undefined
      const res = await fetch(`/${path}`)
      return { path: `/${path}`, bytes: (await res.arrayBuffer()).byteLength }
    })
    expect(gpuWasm?.bytes).toBeGreaterThan(1_000_000)
    await expect.poll(async () => await page.evaluate(async (path) => {
      for (const name of await caches.keys()) if (await (await caches.open(name)).match(path) !== undefined) return true
      return false
    }, gpuWasm!.path)).toBe(true)

    await context.setOffline(true)
    const res = await page.reload()
    expect(res?.fromServiceWorker()).toBe(true)
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible()
    await expect(page.getByTestId('pause-reason')).toHaveAttribute('data-reason', 'no-consent')
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true)
    // Really offline: something the worker does not keep is unreachable; what it kept on first use is there.
    expect(await page.evaluate(async () => await fetch('/models/digits.onnx').then(() => 'fetched', () => 'failed'))).toBe('failed')
    expect(await page.evaluate(async (path) => (await (await fetch(path)).arrayBuffer()).byteLength, gpuWasm!.path)).toBe(gpuWasm!.bytes)
  } finally {
    await context.close()
  }
})

/** A deployment of our own (a copy of dist/ on another port, without the models), so a test can publish a "next version". */
async function ownDeployment (): Promise<{ dir: string, origin: string, close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'essaim-pwa-'))
  await cp('dist', dir, { recursive: true, filter: src => !src.includes('/models/') && !src.endsWith('.map') })
  const server = await preview({
    configFile: false,
    logLevel: 'warn',
    build: { outDir: dir },
    preview: { host: '127.0.0.1', port: 0, headers: isolationHeaders({ csp: true }) }
  })
  return {
    dir,
    origin: server.resolvedUrls?.local[0] ?? '',
    close: async () => {
      await new Promise<void>((resolve, reject) => { server.httpServer.close(err => { if (err !== undefined) reject(err); else resolve() }) })
      await rm(dir, { recursive: true, force: true })
    }
  }
}

test('a new version waits for the user: "A new version is ready — Reload" activates it', async ({ browser }) => {
  const { dir, origin, close } = await ownDeployment()
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(`${origin}#/volunteer`)
    await controlled(page)
    await expect(page.getByTestId('update-prompt')).toHaveCount(0)

    // The next deployment: different sw.js bytes. Nothing changes until the user says so.
    await appendFile(join(dir, 'sw.js'), '\n// next version\n')
    await page.evaluate(async () => { await (await navigator.serviceWorker.getRegistration())?.update() })
    await expect(page.getByTestId('update-prompt')).toBeVisible()
    await expect(page.getByTestId('update-prompt')).toContainText('A new version is ready')
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null)).toBe(true)

    const reloaded = page.waitForEvent('load')
    await page.getByTestId('update-reload').click()
    await reloaded
    await controlled(page)
    await expect(page.getByTestId('update-prompt')).toHaveCount(0)
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting ?? null)).toBeNull()
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true)
  } finally {
    await context.close()
    await close()
  }
})

test('with two tabs open, Reload in the second still reloads it once the first took the new version; a newer version taking the storage tells every tab to reload', async ({ browser }) => {
  const { dir, origin, close } = await ownDeployment()
  const context = await browser.newContext()
  try {
    const [first, second] = [await context.newPage(), await context.newPage()]
    for (const page of [first, second]) { await page.goto(`${origin}#/volunteer`); await controlled(page) }
    await appendFile(join(dir, 'sw.js'), '\n// next version\n')
    await first.evaluate(async () => { await (await navigator.serviceWorker.getRegistration())?.update() })
    for (const page of [first, second]) await expect(page.getByTestId('update-prompt')).toBeVisible()
    let reloaded = first.waitForEvent('load')
    await first.getByTestId('update-reload').click()
    await reloaded
    // The second tab now runs the old version under the new one: its prompt stays, and Reload reloads it.
    await expect(second.getByTestId('update-prompt')).toBeVisible()
    reloaded = second.waitForEvent('load')
    await second.getByTestId('update-reload').click()
    await reloaded
    for (const page of [first, second]) {
      await controlled(page)
      await expect(page.getByTestId('update-prompt')).toHaveCount(0)
      await expect(page.getByTestId('own-peer-id')).toHaveText(/^12D3KooW/)
    }

    // A next version upgrades the database (as one with a new store would): the tabs let it, and say they must reload.
    await expect(first.getByTestId('storage-replaced')).toHaveCount(0)
    await second.evaluate(async () => await new Promise<void>((resolve, reject) => {
      void indexedDB.databases().then(dbs => {
        const open = indexedDB.open('essaim', (dbs.find(d => d.name === 'essaim')?.version ?? 0) + 1)
        open.onsuccess = () => { open.result.close(); resolve() }
        open.onerror = () => { reject(open.error) }
      })
    }))
    for (const page of [first, second]) {
      await expect(page.getByTestId('storage-replaced')).toContainText('took over this browser\'s storage')
      await expect(page.getByTestId('storage-replaced')).toHaveAttribute('role', 'alert')
    }
  } finally {
    await context.close()
    await close()
  }
})

test('two tabs of one profile: exactly one computes, the other says where; stopping it hands over', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const a = await context.newPage()
    const b = await context.newPage()
    await a.goto('/#/volunteer')
    await b.goto('/#/volunteer')
    await a.getByTestId('consent-start').click()
    await expect(reason(a)).toHaveAttribute('data-reason', 'running')
    // b has not pressed Start yet, and already knows this profile contributes in tab a.
    await expect(reason(b)).toHaveAttribute('data-reason', 'other-tab')
    await b.getByTestId('consent-start').click()
    await expect(reason(b)).toHaveAttribute('data-reason', 'other-tab')
    await expect(reason(a)).toHaveAttribute('data-reason', 'running')
    const running = async (): Promise<number> => (await Promise.all([a, b].map(async p => await reason(p).getAttribute('data-reason')))).filter(r => r === 'running').length
    expect(await running()).toBe(1)

    await a.getByTestId('consent-stop').click()
    await expect(reason(b)).toHaveAttribute('data-reason', 'running')
    await expect(reason(a)).toHaveAttribute('data-reason', 'other-tab')
    expect(await running()).toBe(1)

    // A tab that goes away releases the lock with it.
    await a.getByTestId('consent-start').click()
    await b.close()
    await expect(reason(a)).toHaveAttribute('data-reason', 'running')
  } finally {
    await context.close()
  }
})

test('phone on battery: nothing until it is plugged in; the reason is shown', async ({ browser }) => {
  const context = await browser.newContext({ ...devices['Pixel 7'] })
  try {
    await fakeBattery(context, { charging: false, level: 0.42 })
    const page = await context.newPage()
    await page.goto('/#/volunteer')
    await expect(reason(page)).toHaveAttribute('data-reason', 'no-consent')
    await expect(page.getByTestId('battery-state')).toContainText('42')
    await page.getByTestId('consent-start').click()
    await expect(reason(page)).toHaveAttribute('data-reason', 'not-charging')
    await expect(reason(page)).toContainText('not charging')

    await page.evaluate(() => { (window as unknown as { __battery: (c: boolean, l: number) => void }).__battery(true, 0.43) })
    await expect(reason(page)).toHaveAttribute('data-reason', 'running')
    await expect(page.getByTestId('battery-state')).toHaveAttribute('data-charging', 'true')

    await page.evaluate(() => { (window as unknown as { __battery: (c: boolean, l: number) => void }).__battery(false, 0.43) })
    await expect(reason(page)).toHaveAttribute('data-reason', 'not-charging')
  } finally {
    await context.close()
  }
})

test('phone on battery in a swarm with a job: no shard is computed until it is plugged in, then it computes', async ({ browser }) => {
  test.setTimeout(360_000)
  // 2 replicas: the ordinary volunteer alone can never finish the job (a peer gets
  // one replica of a shard), so the work stays available to the phone the whole time.
  const { files } = await digitsFixture(80)
  const shards = Math.ceil(files.length / 8)
  const relay = await startRelayProcess()
  const pages: Volunteer[] = []
  try {
    const requester = await openVolunteer(browser, [relay.addr])
    const desk = await openVolunteer(browser, [relay.addr])
    const phone = await openPhone(browser, [relay.addr], { charging: false, level: 0.42 })
    pages.push(requester, desk, phone)
    await fullMesh(pages)
    await startContributing(desk)
    await phone.page.getByTestId('consent-start').click()
    await expect(reason(phone.page)).toHaveAttribute('data-reason', 'not-charging')
    await expect(reason(phone.page)).toContainText('not charging')

    await postDigits(requester.page, files, { replicas: 2, quorum: 2, perShard: 8 })
    const done = async (v: Volunteer): Promise<number> => Number(await v.page.getByTestId('shards-done').getAttribute('data-count'))
    // The job is live: the ordinary volunteer computes shard after shard...
    await expect.poll(async () => await done(desk), { timeout: 120_000 }).toBeGreaterThanOrEqual(shards)
    // ...and its page, contributing, runs no endless animation (one redrew it 60 times a second, taking CPU from its worker).
    await expect(desk.page.locator('[data-state="running"]')).toHaveCount(1)
    expect(await desk.page.evaluate(() => document.getAnimations().filter(a => a.playState === 'running').map(a => (a as CSSAnimation).animationName ?? 'transition'))).toEqual([])
    // ...and the phone on battery, knowing the job, computes none, saying why; the desk, never
    // held back, never shows "paused" (it used to flash it before every look for work).
    const status = (v: Volunteer): ReturnType<Page['getByTestId']> => v.page.getByTestId('volunteer-status')
    const watchUntil = Date.now() + 8_000
    while (Date.now() < watchUntil) {
      expect(await done(phone)).toBe(0)
      await expect(reason(phone.page)).toHaveAttribute('data-reason', 'not-charging', { timeout: 1 })
      await expect(status(phone)).toHaveAttribute('data-reason', 'paused', { timeout: 1 })
      expect(await status(desk).getAttribute('data-reason')).not.toBe('paused')
      await phone.page.waitForTimeout(250)
    }
    // Only the canaries (answers known in advance) count as verified: no shard has its second replica.
    await expect(requester.page.locator('[data-testid="shard-row"][data-status="verified"]')).toHaveCount(0)
    expect((await verified(requester.page))[0]).toBeLessThan(shards)

    // Plugged in: the phone computes the second replicas and the job completes.
    await phone.page.evaluate(() => { (window as unknown as { __battery: (c: boolean, l: number) => void }).__battery(true, 0.43) })
    await expect(reason(phone.page)).toHaveAttribute('data-reason', 'running')
    await expect.poll(async () => await done(phone), { timeout: 120_000 }).toBeGreaterThan(0)
    await expect.poll(async () => await verified(requester.page), { timeout: 180_000, intervals: [1000] }).toEqual([shards, shards])
    await expect(phone.page.getByTestId('dash-job')).toHaveAttribute('data-model', 'digits')
    // The picture of the swarm draws what the peer table lists.
    const direct = await phone.page.locator('[data-testid="peer-row"][data-link="direct-webrtc"]').count()
    expect(direct).toBeGreaterThanOrEqual(1)
    await expect(phone.page.getByTestId('mesh-picture')).toHaveAttribute('data-direct', String(direct))
    expect(Number(await phone.page.getByTestId('throughput-chart').getAttribute('data-peak'))).toBeGreaterThan(0)
    // Digits shards say how many images they hold: the chart counts images, not shards.
    await expect(phone.page.getByTestId('throughput-chart')).toHaveAttribute('data-unit', 'images')
    await expect(phone.page.getByTestId('throughput-now')).toContainText('images / min')
    // Credit comes from the receipts the requester signs for the phone's verified work.
    await expect.poll(async () => Number(await phone.page.getByTestId('my-credit').getAttribute('data-credit')), { timeout: 60_000 }).toBeGreaterThan(0)

    // The dashboard after real work, for review: phone (390 × 844, no sideways scrolling) and desktop (1280 × 800).
    await mkdir('docs/screenshots', { recursive: true })
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await phone.page.screenshot({ path: 'docs/screenshots/volunteer-phone.png', fullPage: true })
    await desk.page.setViewportSize({ width: 1280, height: 800 })
    await desk.page.screenshot({ path: 'docs/screenshots/volunteer-desktop.png', fullPage: true })
    // The same in French (the language menu re-renders every string in place).
    for (const v of [phone, desk]) {
      await v.page.getByTestId('lang-switch').first().selectOption('fr')
      await expect(v.page.getByRole('heading', { name: 'Mes contributions' })).toBeVisible()
    }
    await expect(phone.page.getByTestId('throughput-now')).toContainText('images / min')
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await phone.page.screenshot({ path: 'docs/screenshots/volunteer-phone-fr.png', fullPage: true })
    await desk.page.screenshot({ path: 'docs/screenshots/volunteer-desktop-fr.png', fullPage: true })

    // Unplugged again: it stops taking work, and says why.
    await phone.page.evaluate(() => { (window as unknown as { __battery: (c: boolean, l: number) => void }).__battery(false, 0.44) })
    await expect(reason(phone.page)).toHaveAttribute('data-reason', 'not-charging')
    await expect(status(phone)).toHaveAttribute('data-reason', 'paused')
  } finally {
    await Promise.all(pages.map(async v => { await v.context.close().catch(() => {}) }))
    await relay.kill()
  }
})

test('phone without the Battery API: it asks, and computes once told it is charging', async ({ browser }) => {
  const context = await browser.newContext({ ...devices['Pixel 7'] })
  try {
    await context.addInitScript(() => { Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: undefined }) })
    const page = await context.newPage()
    await page.goto('/#/volunteer')
    await page.getByTestId('consent-start').click()
    await expect(reason(page)).toHaveAttribute('data-reason', 'ask-charging')
    const ask = page.getByTestId('ask-charging')
    await ask.getByRole('button', { name: 'No' }).click()
    await expect(reason(page)).toHaveAttribute('data-reason', 'not-charging')
    // Still answerable: the question stays while the answer is "no".
    await page.getByTestId('consent-stop').click()
    await page.getByTestId('consent-start').click()
    await expect(reason(page)).toHaveAttribute('data-reason', 'not-charging')
  } finally {
    await context.close()
  }
})

test('a hidden tab pauses by default and keeps computing once background work is allowed', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    await fakeVisibility(context)
    const page = await context.newPage()
    const hide = async (h: boolean): Promise<void> => { await page.evaluate(v => { (window as unknown as { __hide: (h: boolean) => void }).__hide(v) }, h) }
    await page.goto('/#/volunteer')
    await page.getByTestId('consent-start').click()
    await expect(reason(page)).toHaveAttribute('data-reason', 'running')
    await hide(true)
    await expect(reason(page)).toHaveAttribute('data-reason', 'hidden')
    await hide(false)
    await expect(reason(page)).toHaveAttribute('data-reason', 'running')

    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByTestId('allow-background').check()
    await page.getByRole('link', { name: 'Volunteer' }).click()
    await hide(true)
    await expect(reason(page)).toHaveAttribute('data-reason', 'running')

    // The setting is remembered; consent is not (nothing runs after a reload until Start).
    await page.reload()
    await expect(reason(page)).toHaveAttribute('data-reason', 'no-consent')
    await page.goto('/#/settings')
    await expect(page.getByTestId('allow-background')).toBeChecked()
  } finally {
    await context.close()
  }
})

test('French, keyboard only: the language switch and Start work without a mouse', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'fr-FR' })
  try {
    const page = await context.newPage()
    await page.goto('/#/volunteer')
    await expect(page.getByRole('link', { name: 'Bénévole' })).toBeVisible()
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr')
    await page.getByTestId('consent-start').focus()
    await page.keyboard.press('Enter')
    await expect(reason(page)).toHaveAttribute('data-reason', 'running')
    await expect(reason(page)).toContainText('Contribution en cours')
    await expect(page.getByRole('heading', { name: 'Mes contributions' })).toBeVisible()
    await expect(page.getByTestId('throughput-chart')).toContainText('morceaux / min')
    // The other pages speak French too.
    for (const [link, heading] of [['Registre', 'Registre des crédits'], ['Vérifier', 'Vérifier des reçus'], ['Modèles', 'Catalogue']] as const) {
      await page.getByRole('link', { name: link, exact: true }).focus()
      await page.keyboard.press('Enter')
      await expect(page.getByRole('heading', { name: heading })).toBeVisible()
    }
    await page.getByRole('link', { name: 'Bénévole' }).focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('lang-switch').selectOption('en')
    await expect(reason(page)).toContainText('Contributing')
    await page.reload()
    await expect(page.getByRole('link', { name: 'Volunteer' })).toBeVisible()
  } finally {
    await context.close()
  }
})

test('share link and QR code carry the relay list; the header fits a phone; Settings screenshot at phone size', async ({ browser }) => {
  const relay = await startRelayProcess()
  const contexts: BrowserContext[] = []
  try {
    await mkdir('docs/screenshots', { recursive: true })
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const phone = await browser.newContext({ ...devices['Pixel 7'], viewport: { width: 390, height: 844 } })
    contexts.push(desktop, phone)
    await fakeBattery(phone, { charging: true, level: 0.76 })
    const pages = await Promise.all(contexts.map(async c => await c.newPage()))
    const [d, p] = pages as [Page, Page]
    for (const page of pages) await page.goto(volunteerUrl([relay.addr]))
    for (const page of pages) {
      await expect(page.getByTestId('relay-status').first()).toHaveAttribute('data-status', 'connected', { timeout: 60_000 })
      await expect(page.getByTestId('peer-row')).toHaveCount(1, { timeout: 60_000 })
      await page.getByTestId('consent-start').click()
      await expect(reason(page)).toHaveAttribute('data-reason', 'running')
    }

    // The header fits a 390 px screen: no horizontal scrolling of the page, every menu entry reachable.
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await expect(p.getByRole('link', { name: 'Volunteer' })).toBeInViewport()
    await p.getByRole('link', { name: 'Settings' }).scrollIntoViewIfNeeded()
    await expect(p.getByRole('link', { name: 'Settings' })).toBeInViewport()

    await d.goto(volunteerUrl([relay.addr], '#/settings'))
    const link = await d.getByTestId('share-link').inputValue()
    expect(new URL(link).searchParams.getAll('relay')).toEqual([relay.addr])
    expect(new URL(link).hash).toBe('#/volunteer')
    expect(Number(await d.getByTestId('share-qr').getAttribute('data-modules'))).toBeGreaterThanOrEqual(21)
    await desktop.grantPermissions(['clipboard-read', 'clipboard-write'])
    await d.getByTestId('share-copy').click()
    expect(await d.evaluate(async () => await navigator.clipboard.readText())).toBe(link)

    await p.goto(volunteerUrl([relay.addr], '#/settings'))
    await expect(p.getByTestId('share-qr')).toBeVisible()
    await p.screenshot({ path: 'docs/screenshots/settings-phone.png', fullPage: true })
    await p.getByTestId('lang-switch').first().selectOption('fr')
    await expect(p.getByRole('heading', { name: 'Énergie et budget processeur' })).toBeVisible()
    // The longer French menu still shows the current page's entry whole.
    await expect(p.getByRole('link', { name: 'Réglages' })).toBeInViewport({ ratio: 1 })
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await p.screenshot({ path: 'docs/screenshots/settings-phone-fr.png', fullPage: true })
  } finally {
    await Promise.all(contexts.map(async c => { await c.close() }))
    await relay.kill()
  }
})
