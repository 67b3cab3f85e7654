/**
 * Shared set-up for bench sections that need real Chromium: builds nothing
 * (run `npm run build` first; `npm run bench` does), serves dist/ with the
 * isolation headers on a free port, and launches Debian's Chromium.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { chromium, type Browser } from '@playwright/test'
import { CHROMIUM_ARGS, findChromium } from '../test/e2e/support/chromium.ts'

export interface BenchBrowser {
  browser: Browser
  baseURL: string
  close: () => Promise<void>
}

export async function openBenchBrowser (port = 4180): Promise<BenchBrowser> {
  // Its own process group, so that closing kills npx, tsx and the server
  // together (SIGTERM to npx alone leaves the server holding the port).
  const server = spawn('npx', ['tsx', 'scripts/start.ts', '--no-relay', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  const stopServer = (): void => { try { process.kill(-server.pid!, 'SIGTERM') } catch { /* already gone */ } }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('static server did not start')) }, 60_000)
    server.once('exit', code => { clearTimeout(timer); reject(new Error(`static server exited (${code ?? 'signal'})`)) })
    createInterface({ input: server.stdout! }).on('line', line => { if (line.startsWith('Essaim is running')) { clearTimeout(timer); resolve() } })
  })
  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS }).catch(err => { stopServer(); throw err })
  return {
    browser,
    baseURL: `http://127.0.0.1:${port}`,
    close: async () => {
      await browser.close().catch(() => {})
      stopServer()
    }
  }
}
