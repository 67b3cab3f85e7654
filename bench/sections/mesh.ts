/**
 * Mesh formation in real Chromium over loopback: join time (page load → first
 * direct WebRTC connection, with one page already up) and time to a full
 * mesh of 5 pages opened together. Reported, never asserted.
 */
import type { Page } from '@playwright/test'
import type { BenchContext, BenchFigures } from '../types.ts'
import { openBenchBrowser } from '../browser.ts'
import { peerRows, startRelayProcess, volunteerUrl } from '../../test/e2e/support/swarm.ts'

async function waitForDirect (page: Page, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await peerRows(page)).filter(r => r.link === 'direct-webrtc').length >= count) return
    await page.waitForTimeout(25)
  }
  throw new Error(`no ${count} direct peers within ${timeoutMs} ms`)
}

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const bb = await openBenchBrowser()
  const joins: number[] = []
  const meshes: number[] = []
  try {
    for (let i = 0; i < ctx.repeats; i++) {
      const relay = await startRelayProcess()
      const url = bb.baseURL + volunteerUrl([relay.addr])
      const contexts = await Promise.all(Array.from({ length: 5 }, async () => await bb.browser.newContext()))
      try {
        // Join: one page is up; time a second page from navigation to its first direct connection.
        const first = await contexts[0]!.newPage()
        await first.goto(url)
        await first.getByTestId('own-peer-id').waitFor()
        const second = await contexts[1]!.newPage()
        const t0 = Date.now()
        await second.goto(url)
        await waitForDirect(second, 1)
        joins.push(Date.now() - t0)
        // Full mesh of 5 fresh pages opened together.
        await Promise.all(contexts.slice(0, 2).map(async c => { for (const p of c.pages()) await p.close() }))
        const t1 = Date.now()
        const pages = await Promise.all(contexts.map(async c => { const p = await c.newPage(); await p.goto(url); return p }))
        await Promise.all(pages.map(async p => { await waitForDirect(p, 4, 120_000) }))
        meshes.push(Date.now() - t1)
        ctx.log(`  run ${i + 1}: join ${joins.at(-1)} ms, mesh5 ${meshes.at(-1)} ms`)
      } finally {
        await Promise.all(contexts.map(async c => { await c.close() }))
        await relay.kill()
      }
    }
  } finally {
    await bb.close()
  }
  return { join_ms_p50: ctx.spread('join_ms_p50', joins), mesh5_ms: ctx.spread('mesh5_ms', meshes) }
}
