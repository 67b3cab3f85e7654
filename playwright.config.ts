/**
 * End-to-end tests: real Chromium (Debian's), real WebRTC, a real relay
 * process and real models. Each volunteer is its own browser context (its
 * own IndexedDB, so its own key). One worker: every test already runs
 * several browsers on a 2-core machine.
 */
import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, findChromium } from './test/e2e/support/chromium.ts'

/** The static server's port; set ESSAIM_E2E_PORT to run beside another server. */
export const E2E_PORT = Number(process.env.ESSAIM_E2E_PORT ?? 4173)

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.e2e.ts',
  outputDir: 'test-results',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    launchOptions: { executablePath: findChromium(), args: CHROMIUM_ARGS },
    trace: 'off'
  },
  webServer: {
    command: `npx tsx scripts/start.ts --no-relay --port ${E2E_PORT}`,
    url: `http://127.0.0.1:${E2E_PORT}/`,
    reuseExistingServer: process.env.CI === undefined,
    timeout: 60_000,
    stdout: 'pipe'
  }
})
