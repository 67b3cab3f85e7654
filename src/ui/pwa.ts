/**
 * Registers the service worker (`src/sw.ts`, built to `/sw.js`) in
 * production builds, and runs the update flow: when a new version has
 * installed and is waiting, `updates` fires `update:ready`; `applyUpdate()`
 * tells it to take over, and the page reloads once it controls the page.
 * When another tab did that first, the new version already controls this
 * one: the prompt stays, and its Reload just reloads.
 */
import { TypedEventEmitter } from 'main-event'
import { logger } from '@libp2p/logger'
import type { SwMessage } from '../sw.ts'

const log = logger('essaim:ui:pwa')

/** How often an open tab checks for a new version. */
const UPDATE_CHECK_MS = 60 * 60 * 1000
/** Time between the page's load event and registering the service worker. */
const REGISTER_DELAY_MS = 5_000

export const updates = new TypedEventEmitter<{ 'update:ready': CustomEvent<void> }>()

let waiting: ServiceWorker | undefined
let reloadOnChange = false
/** A newer version took control of this page (another tab applied it): this page runs the older one. */
let overtaken = false

/** A new version is installed and waiting for the page's go-ahead, or already took over from another tab. */
export function updateReady (): boolean {
  return waiting !== undefined || overtaken
}

/** Activates the waiting version; the page reloads when it has taken control (at once, if it already has). */
export function applyUpdate (): void {
  if (overtaken || (waiting !== undefined && waiting.state !== 'installed')) { window.location.reload(); return }
  if (waiting === undefined) return
  reloadOnChange = true
  const msg: SwMessage = { type: 'skip-waiting' }
  waiting.postMessage(msg)
}

function setWaiting (worker: ServiceWorker): void {
  waiting = worker
  updates.safeDispatchEvent('update:ready')
}

export function registerServiceWorker (): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return
  // A while after load: precaching (~15 MB, most of it the ORT .wasm file)
  // must compete neither with the first paint nor with joining the swarm
  // (it made a first visit's first direct connection ~0.35 s later).
  const later = (): void => { setTimeout(() => { void register() }, REGISTER_DELAY_MS) }
  if (document.readyState === 'complete') later()
  else window.addEventListener('load', later, { once: true })
}

async function register (): Promise<void> {
  try {
    const container = navigator.serviceWorker
    const reg = await container.register(`${import.meta.env.BASE_URL}sw.js`)
    // The first install takes control too (clients.claim): only a change from an earlier controller is a new version.
    let controlled = container.controller !== null
    container.addEventListener('controllerchange', () => {
      if (reloadOnChange) { reloadOnChange = false; window.location.reload(); return }
      if (!controlled) { controlled = true; return }
      overtaken = true
      updates.safeDispatchEvent('update:ready')
    })
    // Only an update waits while an older version controls the page; the first install just activates.
    if (reg.waiting !== null && container.controller !== null) setWaiting(reg.waiting)
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing
      worker?.addEventListener('statechange', () => {
        if (worker.state === 'installed' && container.controller !== null) setWaiting(worker)
      })
    })
    const check = (): void => { reg.update().catch((err: Error) => { log('update check failed: %s', err.message) }) }
    setInterval(check, UPDATE_CHECK_MS)
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') check() })
  } catch (err) {
    log.error('service worker registration failed: %s', (err as Error).message)
  }
}
