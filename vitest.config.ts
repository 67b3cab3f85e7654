/**
 * Unit tests run in Node. Files under test/unit are pure logic or use
 * in-memory libp2p transports; browser behaviour is covered by Playwright e2e.
 */
import './scripts/node22-polyfills.ts'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['scripts/node22-polyfills.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
