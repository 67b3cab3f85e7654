/**
 * Where a page learns its relays: the served build's `essaim.config.json`
 * (written by `npm start`, or by whoever deploys the static files) plus any
 * `?relay=<multiaddr>` URL parameters (repeatable). Parsing is pure so it can
 * be tested in Node; a bad entry becomes a readable message, never a crash.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'

export interface NetConfigFile {
  /** Relay multiaddrs, each ending in `/p2p/<relay peer id>`. */
  relays?: unknown
  /** Allow dialling loopback/private addresses (local swarms and tests only). */
  allowPrivateAddresses?: unknown
}

export interface NetConfig {
  relays: Multiaddr[]
  allowPrivateAddresses: boolean
  /** One human-readable line per rejected entry. */
  problems: string[]
}

/** At most this many relays are used; more is a mistake, not a feature. */
export const MAX_RELAYS = 8

/**
 * Checks one relay address. Returns the parsed multiaddr or the reason it
 * cannot be used from a browser.
 */
export function parseRelay (text: string): { ok: true, addr: Multiaddr } | { ok: false, reason: string } {
  const trimmed = text.trim()
  if (trimmed === '') return { ok: false, reason: 'empty relay address' }
  if (trimmed.length > 512) return { ok: false, reason: 'relay address longer than 512 characters' }
  let addr: Multiaddr
  try {
    addr = multiaddr(trimmed)
  } catch (err) {
    return { ok: false, reason: `"${shorten(trimmed)}" is not a multiaddr (${(err as Error).message})` }
  }
  if (!(WebSockets.matches(addr) || WebSocketsSecure.matches(addr))) {
    return { ok: false, reason: `"${shorten(trimmed)}" is not a WebSocket address (expected …/tcp/<port>/ws or /wss/p2p/<peer id>)` }
  }
  if (addr.getComponents().at(-1)?.name !== 'p2p') {
    return { ok: false, reason: `"${shorten(trimmed)}" does not end with /p2p/<relay peer id>` }
  }
  return { ok: true, addr }
}

/** Merges the config file and the URL's `relay` parameters into one list. */
export function resolveNetConfig (file: NetConfigFile | undefined, params: URLSearchParams): NetConfig {
  const problems: string[] = []
  const fromFile = Array.isArray(file?.relays) ? file.relays : []
  if (file?.relays !== undefined && !Array.isArray(file.relays)) problems.push('essaim.config.json: "relays" must be a list of multiaddrs')
  const candidates: Array<{ text: unknown, where: string }> = [
    ...params.getAll('relay').map(text => ({ text, where: '?relay=' })),
    ...fromFile.map(text => ({ text, where: 'essaim.config.json' }))
  ]
  const relays: Multiaddr[] = []
  for (const { text, where } of candidates) {
    if (typeof text !== 'string') { problems.push(`${where}: relay entries must be strings`); continue }
    const parsed = parseRelay(text)
    if (!parsed.ok) { problems.push(`${where}: ${parsed.reason}`); continue }
    if (relays.some(r => r.equals(parsed.addr))) continue
    if (relays.length >= MAX_RELAYS) { problems.push(`${where}: more than ${MAX_RELAYS} relays; ignoring the rest`); break }
    relays.push(parsed.addr)
  }
  return { relays, allowPrivateAddresses: file?.allowPrivateAddresses === true, problems }
}

/** Fetches the served config file; a missing or broken file is a problem line, not an error. */
export async function loadNetConfig (location: { search: string, origin: string }, options: { signal?: AbortSignal } = {}): Promise<NetConfig> {
  const params = new URLSearchParams(location.search)
  let file: NetConfigFile | undefined
  const extra: string[] = []
  try {
    const res = await fetch(new URL('essaim.config.json', location.origin + '/'), { signal: options.signal ?? AbortSignal.timeout(10_000), cache: 'no-cache' })
    if (res.ok) {
      const body: unknown = await res.json()
      if (typeof body === 'object' && body !== null) file = body as NetConfigFile
      else extra.push('essaim.config.json is not a JSON object')
    } else if (res.status !== 404) {
      extra.push(`essaim.config.json: HTTP ${res.status}`)
    }
  } catch (err) {
    extra.push(`essaim.config.json could not be read (${(err as Error).message})`)
  }
  const config = resolveNetConfig(file, params)
  config.problems.unshift(...extra)
  return config
}

function shorten (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}
