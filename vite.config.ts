/**
 * Build and dev-server config. Cross-origin isolation (COOP + COEP) is needed
 * in every mode: it is what lets onnxruntime-web run WASM threads.
 */
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { isolationHeaders } from './scripts/headers.ts'

export default defineConfig({
  plugins: [svelte()],
  server: { headers: isolationHeaders() },
  preview: { headers: isolationHeaders() },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2048, rolldownOptions: { input: ['index.html', 'bench/compute.html'] } }
})
