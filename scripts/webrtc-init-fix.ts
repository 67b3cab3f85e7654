/**
 * A build-time fix for @libp2p/webrtc's dialer (6.0.33, and its main branch
 * as of 2026-07): its wait for the `init` data channel to open, then close,
 * hangs until the dial times out when the recipient closed the channel first
 * (see src/net/webrtc-init-channel.ts). The plugin swaps that wait for
 * `settleInitChannel`. If the code it replaces is not found (@libp2p/webrtc
 * changed), the build fails: check whether upstream fixed the race, then
 * drop or update this plugin.
 */
import { resolve } from 'node:path'
import type { Plugin } from 'vite'

/** The module patched, as it appears at the end of its resolved id. */
export const INITIATE_CONNECTION = '@libp2p/webrtc/dist/src/private-to-private/initiate-connection.js'

/** Upstream's two waits: `open` unless already open, close, then `close`. */
const UPSTREAM_WAITS = /if \(channel\.readyState !== 'open'\) \{\s*log\.trace\('wait for init channel to open'\);\s*await pEvent\(channel, 'open', \{\s*signal\s*\}\);\s*\}\s*log\.trace\('closing init channel'\);\s*channel\.close\(\);[\s\S]*?await pEvent\(channel, 'close', \{\s*signal\s*\}\);/

/**
 * The source of initiate-connection.js with the waits replaced by a call to
 * `settleInitChannel` imported from `helperPath`.
 * @throws when the upstream waits are not there.
 */
export function patchInitiateConnection (code: string, helperPath: string): string {
  if (!UPSTREAM_WAITS.test(code)) {
    throw new Error(`${INITIATE_CONNECTION}: the init-channel waits this build patches are not there (did @libp2p/webrtc change?); see scripts/webrtc-init-fix.ts`)
  }
  const waits = "log.trace('settling init channel');\n        await settleInitChannel(channel, signal);"
  return `import { settleInitChannel } from ${JSON.stringify(helperPath)};\n${code.replace(UPSTREAM_WAITS, waits)}`
}

/**
 * The plugin, for the app build and the dev server's dependency pre-bundling.
 * A build that bundles @libp2p/webrtc but never met the module to patch
 * (moved or renamed upstream) fails too.
 */
export function webrtcInitFix (root: string): Plugin {
  const helper = resolve(root, 'src/net/webrtc-init-channel.ts')
  let patched = false
  return {
    name: 'essaim-webrtc-init-fix',
    enforce: 'pre',
    buildStart () { patched = false },
    transform (code, id) {
      if (!normalise(id).endsWith(INITIATE_CONNECTION)) return null
      patched = true
      return { code: patchInitiateConnection(code, helper), map: null }
    },
    buildEnd (err) {
      if (err !== undefined || patched) return
      const bundled = [...this.getModuleIds()].some(id => normalise(id).includes('/@libp2p/webrtc/dist/'))
      if (bundled) this.error(`@libp2p/webrtc is bundled but ${INITIATE_CONNECTION} was not met: see scripts/webrtc-init-fix.ts`)
    }
  }
}

function normalise (id: string): string {
  return id.split('?')[0]!.replaceAll('\\', '/')
}
