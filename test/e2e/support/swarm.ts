/**
 * Helpers for multi-peer browser tests: a real relay process we can kill,
 * and volunteers that each live in their own browser context.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { expect, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test'

export interface RelayProcess {
  addr: string
  kill: () => Promise<void>
}

/** Starts `scripts/relay.ts` on a free port and waits for its multiaddr. */
export async function startRelayProcess (): Promise<RelayProcess> {
  // Node itself (not npx) so that killing the child kills the relay.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/relay.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => { stderr.push(d.toString()) })
  const addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`relay did not start: ${stderr.join('')}`)) }, 30_000)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`relay exited (${code ?? 'signal'}): ${stderr.join('')}`)) })
    createInterface({ input: child.stdout! }).on('line', line => {
      const m = /^relay (\/ip4\/127\.0\.0\.1\/\S+)$/.exec(line)
      if (m?.[1] !== undefined) { clearTimeout(timer); resolve(m[1]) }
    })
  })
  return {
    addr,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
  }
}

export interface Volunteer {
  context: BrowserContext
  page: Page
  peerId: string
}

export function volunteerUrl (relays: string[], hash = '#/volunteer'): string {
  const q = relays.map(r => `relay=${encodeURIComponent(r)}`).join('&')
  return `/?${q}${hash}`
}

/**
 * Records every Content-Security-Policy violation of the context's pages
 * (read with {@link cspViolations}): an inline style or script the policy
 * blocks fails no test by itself, it just silently does not apply.
 */
export async function watchCsp (context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const seen: string[] = (window as unknown as { essaimCspViolations: string[] }).essaimCspViolations = []
    document.addEventListener('securitypolicyviolation', e => { seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`) })
  })
}

/** The CSP violations the page saw so far (its context watched by {@link watchCsp}). */
export async function cspViolations (page: Page): Promise<string[]> {
  return await page.evaluate(() => (window as unknown as { essaimCspViolations?: string[] }).essaimCspViolations ?? ['not watched'])
}

/**
 * Opens the app in a fresh browser context and waits (up to `startTimeoutMs`)
 * for its peer id. `ESSAIM_E2E_DEBUG=essaim:*,libp2p:connection-monitor` sets
 * the page's debug namespaces and prints its console lines, and main-thread
 * tasks of 500 ms or more.
 */
export async function openVolunteer (browser: Browser, relays: string[], hash = '#/volunteer', contextOptions: BrowserContextOptions = {}, startTimeoutMs = 30_000): Promise<Volunteer> {
  const context = await browser.newContext(contextOptions)
  await watchCsp(context)
  const debug = process.env.ESSAIM_E2E_DEBUG ?? ''
  if (debug !== '') {
    await context.addInitScript(d => {
      localStorage.setItem('debug', d)
      // Main-thread stalls long enough to miss heartbeats or pings.
      new PerformanceObserver(list => {
        for (const e of list.getEntries()) if (e.duration >= 500) console.log(`essaim:e2e long task ${Math.round(e.duration)} ms`)
      }).observe({ type: 'longtask', buffered: true })
    }, debug)
  }
  const page = await context.newPage()
  page.on('pageerror', err => { console.error(`[page error] ${err.message}`) })
  await page.goto(volunteerUrl(relays, hash))
  const peerId = (await page.getByTestId('own-peer-id').textContent({ timeout: startTimeoutMs }))?.trim() ?? ''
  if (debug !== '') {
    // The page's libp2p/Essaim debug lines, tagged with its peer id and the time (for a failure that CI alone shows).
    page.on('console', m => { console.log(`[${new Date().toISOString().slice(11, 23)} ${peerId.slice(-6)}] ${m.text().replace(/%c|color: [#\w]+/g, '')}`) })
  }
  return { context, page, peerId }
}

export interface RowInfo { peerId: string, link: string, seq: number }

/** The peer list as the page shows it. */
export async function peerRows (page: Page): Promise<RowInfo[]> {
  return await page.getByTestId('peer-row').evaluateAll(rows => rows.map(r => ({
    peerId: r.getAttribute('data-peer-id') ?? '',
    link: r.getAttribute('data-link') ?? '',
    seq: Number(r.getAttribute('data-seq') ?? 0)
  })))
}

export async function ownSeq (page: Page): Promise<number> {
  return Number(await page.getByTestId('own-seq').getAttribute('data-seq'))
}

/** Waits until every page lists every other one over a direct WebRTC connection. */
export async function fullMesh (pages: Volunteer[], timeout = 90_000): Promise<void> {
  const ids = pages.map(v => v.peerId)
  for (const v of pages) {
    await expect.poll(async () => {
      const rows = await peerRows(v.page)
      return rows.filter(r => r.link === 'direct-webrtc').map(r => r.peerId).sort()
    }, { timeout, message: `direct peers of ${v.peerId}` }).toEqual(ids.filter(id => id !== v.peerId).sort())
  }
}

/**
 * Opens a requester and `count` volunteers, each in its own browser context.
 * Each page goes into `pages` as soon as it is open, so the caller's
 * `finally` closes whatever was opened even if a later one fails.
 */
export async function openSwarm (browser: Browser, relays: string[], count: number, pages: Volunteer[]): Promise<{ requester: Volunteer, volunteers: Volunteer[] }> {
  const requester = await openVolunteer(browser, relays)
  pages.push(requester)
  const volunteers: Volunteer[] = []
  for (let i = 0; i < count; i++) {
    const v = await openVolunteer(browser, relays)
    pages.push(v)
    volunteers.push(v)
  }
  return { requester, volunteers }
}
