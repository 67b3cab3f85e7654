/**
 * Build and dev-server config. Cross-origin isolation (COOP + COEP) is needed
 * in every mode: it is what lets onnxruntime-web run WASM threads.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, defineConfig, type Plugin, type ResolvedConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { isolationHeaders } from './scripts/headers.ts'
import { webrtcInitFix } from './scripts/webrtc-init-fix.ts'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  plugins: [webrtcInitFix(root), svelte(), serviceWorker()],
  // The dev server pre-bundles dependencies: the WebRTC fix goes there too.
  optimizeDeps: { rolldownOptions: { plugins: [webrtcInitFix(root)] } },
  server: { headers: isolationHeaders() },
  preview: { headers: isolationHeaders() },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2048, rolldownOptions: { input: ['index.html', 'bench/compute.html'] } }
})

/** Not precached: source maps, models (cached on first use), the bench page, the per-deployment config. */
const NOT_PRECACHED = [/\.map$/, /^models\//, /^bench\//, /^essaim\.config\.json$/, /^sw\.js$/]
/**
 * Kept by the service worker on first use instead of at install: the
 * WebGPU build of onnxruntime-web (its JS and its 27 MB asyncify .wasm).
 * A device without WebGPU never loads them, and precaching them took two
 * thirds of a first visit's download (41 MB) while the tab was joining
 * the swarm.
 */
const ON_DEMAND = [/^assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/, /^assets\/ort\.webgpu\.bundle[\w.-]*\.js$/]

/**
 * Builds `src/sw.ts` to `sw.js` once the app is written, with the lists of
 * files to precache and to keep on first use, and a version hash of their bytes (a changed file is a
 * new version, hence an update prompt). Written by hand: a whole PWA
 * framework is not worth its dependencies for one small worker.
 */
function serviceWorker (): Plugin {
  let config: ResolvedConfig
  return {
    name: 'essaim-sw',
    apply: 'build',
    configResolved (resolved) { config = resolved },
    async closeBundle () {
      const outDir = resolve(config.root, config.build.outDir)
      const files = (await listFiles(outDir)).map(f => relative(outDir, f).split(sep).join('/'))
        .filter(f => !NOT_PRECACHED.some(re => re.test(f))).sort()
      const onDemand = files.filter(f => ON_DEMAND.some(re => re.test(f)))
      const hash = createHash('sha256')
      for (const f of files) hash.update(f).update('\0').update(await readFile(join(outDir, f)))
      await build({
        configFile: false,
        root: config.root,
        logLevel: 'warn',
        define: {
          __ESSAIM_PRECACHE__: JSON.stringify(files.filter(f => !onDemand.includes(f))),
          __ESSAIM_ON_DEMAND__: JSON.stringify(onDemand),
          __ESSAIM_VERSION__: JSON.stringify(hash.digest('hex').slice(0, 16))
        },
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          target: 'es2022',
          minify: true,
          sourcemap: false,
          lib: { entry: resolve(config.root, 'src/sw.ts'), formats: ['iife'], name: 'essaimServiceWorker', fileName: () => 'sw.js' }
        }
      })
    }
  }
}

async function listFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(entries.map(async e => e.isDirectory() ? await listFiles(join(dir, e.name)) : [join(dir, e.name)]))
  return nested.flat()
}
