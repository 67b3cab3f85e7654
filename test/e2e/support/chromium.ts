/**
 * Finds the Chromium the e2e suite drives. We never download browsers (no
 * internet here): we use Debian's `chromium`, installing it with apt when we
 * run as root, or fail with a message that says what to do.
 */
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium']

/** Flags that work headless on a machine without GPU or outside network. */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'
]

export function findChromium (): string {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv !== undefined && fromEnv !== '') {
    if (existsSync(fromEnv)) return fromEnv
    throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`)
  }
  const found = CANDIDATES.find(p => existsSync(p))
  if (found !== undefined) return found
  if (process.platform === 'linux' && process.getuid?.() === 0) {
    console.error('[e2e] Chromium not found: installing Debian\'s chromium package with apt-get…')
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' })
    const installed = CANDIDATES.find(p => existsSync(p))
    if (installed !== undefined) return installed
  }
  throw new Error('Chromium not found. Install Debian\'s chromium (`sudo apt-get install -y chromium`) or set CHROMIUM_PATH to a Chromium binary. Browsers are never downloaded by this project.')
}
