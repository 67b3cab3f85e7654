/**
 * `npm start` (after `npm run build`): starts a local relay and serves the
 * built app as static files with the isolation headers and a strict CSP.
 * It writes `dist/essaim.config.json` so the page finds the relay, then
 * prints the URL to open. No other server exists: the relay only introduces
 * tabs to each other.
 *
 * Options: --host 127.0.0.1   address for both the web server and the relay
 *          --port 8080        web server port (relay: --relay-port, default 9090)
 *          --no-relay         serve only (e.g. tests that start their own relays)
 *          --relay <multiaddr> (repeatable) list extra/other relays in the config
 *          --dist dist        the built app to serve (another build can live beside it)
 */
import './node22-polyfills.ts'
import { writeFile, access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { preview } from 'vite'
import { isolationHeaders } from './headers.ts'
import { intOption, startRelay } from './relay.ts'

interface StartOptions { host: string, port: number, relayPort: number, relay: boolean, relays: string[], dist: string }

function parseArgs (argv: string[]): StartOptions {
  const opts: StartOptions = { host: '127.0.0.1', port: 8080, relayPort: 9090, relay: true, relays: [], dist: 'dist' }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`missing value for ${flag ?? ''}`)
      return v
    }
    switch (flag) {
      case '--host': opts.host = value(); break
      case '--port': opts.port = intOption('--port', value(), 0, 65535); break
      case '--relay-port': opts.relayPort = intOption('--relay-port', value(), 0, 65535); break
      case '--no-relay': opts.relay = false; break
      case '--relay': opts.relays.push(value()); break
      case '--dist': opts.dist = value(); break
      default: throw new Error(`unknown option ${flag ?? ''} (known: --host --port --relay-port --no-relay --relay --dist)`)
    }
  }
  return opts
}

const root = fileURLToPath(new URL('..', import.meta.url))

async function main (): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const dist = resolve(root, opts.dist)
  await access(join(dist, 'index.html')).catch(() => { throw new Error(`${dist}/index.html is missing: run "npm run build" first (npm start does it for you)`) })

  const relays = [...opts.relays]
  if (opts.relay) {
    const relay = await startRelay({ host: opts.host, port: opts.relayPort, keyFile: join(root, '.cache', 'relay.key') })
    relays.unshift(...relay.getMultiaddrs().map(ma => ma.toString()))
    const stop = (): void => { void Promise.resolve(relay.stop()).finally(() => process.exit(0)) }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  }
  // A local swarm: loopback and private addresses are fine to dial.
  await writeFile(join(dist, 'essaim.config.json'), JSON.stringify({ relays, allowPrivateAddresses: true }, null, 2) + '\n')

  const server = await preview({
    root,
    build: { outDir: dist },
    logLevel: 'warn',
    preview: { host: opts.host, port: opts.port, strictPort: true, headers: isolationHeaders({ csp: true }), open: false }
  })
  const url = server.resolvedUrls?.local[0] ?? `http://${opts.host}:${opts.port}/`
  for (const r of relays) console.log(`relay  ${r}`)
  console.log(`Essaim is running: open ${url}`)
}

main().catch(err => { console.error(`start: ${(err as Error).message}`); process.exit(1) })
