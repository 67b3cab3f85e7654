/**
 * Essaim's service worker, built to `/sw.js` by the `essaim-sw` plugin in
 * vite.config.ts, which fills in the precache list (every file of the build
 * but source maps, models and the bench page: the app shell, hashed JS/CSS,
 * the ORT .wasm files, manifest and icons) and a version hash of their bytes.
 *
 * - App shell and hashed assets: cache first, so a reload offline shows the app.
 *   Cached responses are the original ones, headers included, so the page
 *   stays cross-origin isolated (COOP/COEP) when served from the cache.
 * - The WebGPU build of onnxruntime-web (`__ESSAIM_ON_DEMAND__`): cache first
 *   too, but kept when first fetched, not at install: a device without
 *   WebGPU never needs its 27 MB.
 * - `essaim.config.json`: network first (the relay list can change), cache as fallback.
 * - Models are not touched here: the model cache (IndexedDB) keeps them on first use.
 * - Update: a new version installs next to the old one and waits; the page
 *   shows "A new version is ready — Reload" and sends `skip-waiting`.
 */

declare const __ESSAIM_PRECACHE__: string[]
declare const __ESSAIM_ON_DEMAND__: string[]
declare const __ESSAIM_VERSION__: string

const sw = self as unknown as ServiceWorkerGlobalScope

const PREFIX = 'essaim-shell-'
const SHELL_CACHE = PREFIX + __ESSAIM_VERSION__
const CONFIG_CACHE = 'essaim-config'

const scope = new URL(sw.registration.scope)
const abs = (path: string): string => new URL(path, scope).href
const PRECACHE = new Set(__ESSAIM_PRECACHE__.map(abs))
const ON_DEMAND = new Set(__ESSAIM_ON_DEMAND__.map(abs))
const INDEX = abs('index.html')
const CONFIG = abs('essaim.config.json')

export type SwMessage = { type: 'skip-waiting' }

sw.addEventListener('install', event => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE)
    // `reload`: never fill the new cache from a stale HTTP cache entry.
    await cache.addAll([...PRECACHE].map(url => new Request(url, { cache: 'reload' })))
  })())
})

sw.addEventListener('activate', event => {
  event.waitUntil((async () => {
    const names = await caches.keys()
    await Promise.all(names.filter(n => n.startsWith(PREFIX) && n !== SHELL_CACHE).map(async n => await caches.delete(n)))
    // Control the page of the first visit too, so it works offline without a second load.
    await sw.clients.claim()
  })())
})

sw.addEventListener('message', (event: ExtendableMessageEvent) => {
  const msg = event.data as SwMessage | undefined
  if (msg?.type === 'skip-waiting') void sw.skipWaiting()
})

sw.addEventListener('fetch', (event: FetchEvent) => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== scope.origin) return
  const key = url.origin + url.pathname
  if (req.mode === 'navigate' && (key === scope.href || key === INDEX)) {
    event.respondWith(cacheFirst(INDEX, req))
  } else if (key === CONFIG) {
    event.respondWith(networkFirst(req))
  } else if (PRECACHE.has(key)) {
    event.respondWith(cacheFirst(key, req))
  } else if (ON_DEMAND.has(key)) {
    event.respondWith(cacheFirst(key, req, stored => { event.waitUntil(stored) }))
  }
})

/**
 * The cached copy, else the network (e.g. the cache was cleared by the
 * browser). With `keep`, a whole (200) answer from the network is also
 * cached for next time, while the page already reads it; `keep` is handed
 * the write, which may fail (no room) without failing the page's fetch.
 */
async function cacheFirst (key: string, req: Request, keep?: (stored: Promise<void>) => void): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE)
  const cached = await cache.match(key)
  if (cached !== undefined) return cached
  const res = await fetch(req)
  if (keep !== undefined && res.status === 200) keep(cache.put(key, res.clone()).catch(() => {}))
  return res
}

/** The network's answer (kept for later), else the last one kept, else the network error. */
async function networkFirst (req: Request): Promise<Response> {
  const cache = await caches.open(CONFIG_CACHE)
  try {
    const res = await fetch(req)
    if (res.ok) await cache.put(CONFIG, res.clone())
    return res
  } catch (err) {
    const cached = await cache.match(CONFIG)
    if (cached !== undefined) return cached
    throw err
  }
}
