/**
 * Unit tests run in Node. Files under test/unit are pure logic or use
 * in-memory libp2p transports; browser behaviour is covered by Playwright e2e.
 * The Svelte plugin compiles the UI's state classes (`*.svelte.ts`, runes) so
 * that their logic can be tested here too (as Node compiles them: plain fields).
 */
import './scripts/node22-polyfills.ts'
import { defineConfig } from 'vitest/config'
import { svelte } from '@sveltejs/vite-plugin-svelte'

export default defineConfig({
  plugins: [svelte()],
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['scripts/node22-polyfills.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
