/**
 * Where a volunteer gets model bytes (DESIGN.md "Data flow", step 3), in this
 * order:
 *
 * 1. the local cache (a second visit downloads nothing);
 * 2. peers that advertise the hash in their presence heartbeats, in random
 *    order (so load spreads and no peer is always asked first), at most
 *    {@link MODEL_MAX_PEER_ATTEMPTS} of them;
 * 3. the static origin, `models/<file>`.
 *
 * Why peers before the origin: the static host is the one shared resource of
 * the swarm (often a free tier with bandwidth caps), and bytes from a peer are
 * exactly as trustworthy as bytes from the origin because both are checked
 * against the catalog's sha256. A peer that is busy, slow to answer, missing
 * the blob or lying costs one bounded attempt (the blob client has an idle
 * timeout), then the origin is tried. Pass `order: 'origin-first'` to invert.
 *
 * Every source's bytes are hashed here before they are returned or cached,
 * whatever the source promised. A source whose bytes do not match is recorded
 * in the caller's `bad` set (peer id, or `origin`) with a ModelHashMismatchError
 * naming it, and the next source is tried. Sizes come from the catalog entry:
 * nothing is allocated from a length a source announced.
 *
 * This file sits in src/compute and may not import src/net: the blob client
 * is injected as a function, and its errors are recognised by `err.name`.
 */
import type { PeerId } from '@libp2p/interface'
import { sha256Hex } from '../core/bytes.ts'
import { ModelHashMismatchError } from './errors.ts'

/** How many advertising peers are tried before falling back to the origin. */
export const MODEL_MAX_PEER_ATTEMPTS = 3

export type ModelSourceKind = 'cache' | 'peer' | 'origin'

/** Where bytes came from: a peer carries its id. */
export type ModelSource = { kind: 'cache' } | { kind: 'origin', url: string } | { kind: 'peer', peer: string }

export interface ModelProgress {
  source: ModelSourceKind
  /** The peer id when `source` is 'peer'. */
  peer?: string
  received: number
  total: number
}

/** What loadModel needs of a catalog entry (src/compute/catalog.ts `CatalogModel` fits). */
export interface ModelEntry { id: string, sha256: string, bytes: number, file: string }

/** The model cache port (src/store/model-cache.ts `ModelCache` fits). */
export interface ModelBytesCache {
  get: (sha256: string, options?: { signal?: AbortSignal }) => Promise<Uint8Array | undefined>
  put: (sha256: string, bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<void>
  delete?: (sha256: string, options?: { signal?: AbortSignal }) => Promise<void>
}

/** The blob client (src/net/protocols/blob.ts `BlobService.fetchBlob` fits). */
export type FetchBlob<P> = (peer: P, sha256: string, options: {
  signal?: AbortSignal
  onProgress?: (progress: { received: number, total: number }) => void
  maxBytes?: number
  expectedBytes?: number
}) => Promise<Uint8Array>

/** The bytes a source returned do not hash to the catalog's sha256; `source` says which. */
export class SourceHashMismatchError extends ModelHashMismatchError {
  constructor (readonly source: ModelSource, readonly expected: string, readonly actual: string | undefined, options?: ErrorOptions) {
    super(`${describe(source)} sent bytes that do not hash to ${expected}${actual === undefined ? '' : ` (got ${actual})`}`, options)
  }
}

/** The origin could not deliver the model: HTTP error, no body, or a size other than the catalog's. */
export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError' as const
  constructor (readonly url: string, reason: string, options?: ErrorOptions) {
    super(`fetching ${url}: ${reason}`, options)
  }
}

export interface SourceFailure { source: ModelSource, error: Error }

/** Every source failed; `failures` says how each one did. */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError' as const
  constructor (readonly model: string, readonly failures: SourceFailure[]) {
    super(`model ${model} could not be loaded from any source: ${failures.map(f => `${describe(f.source)}: ${f.error.name}`).join('; ') || 'no source available'}`)
  }
}

export interface LoadModelOptions<P extends { toString: () => string } = PeerId> {
  signal?: AbortSignal
  onProgress?: (progress: ModelProgress) => void
  /** Read first, written after a verified download. */
  cache?: ModelBytesCache
  /** Peers currently advertising `entry.sha256` (from presence heartbeats). */
  peers?: () => P[]
  fetchBlob?: FetchBlob<P>
  /** Origin fetch (default: global fetch); `undefined` in `options` disables the origin. */
  fetch?: typeof globalThis.fetch
  /** Base URL of the model files (default: `models/` relative to the page). */
  originBase?: string | URL
  order?: 'peers-first' | 'origin-first'
  /** Sources (peer ids, or 'origin') that served wrong bytes before: skipped, and added to on mismatch. */
  bad?: Set<string>
  /** Called for every failed source, as it fails. */
  onSourceFailed?: (failure: SourceFailure) => void
  random?: () => number
}

export interface LoadedModel {
  bytes: Uint8Array
  source: ModelSource
  /** Set when the bytes were fine but could not be cached (e.g. StorageQuotaError): show it, the next visit will download again. */
  cacheError?: Error
}

function describe (source: ModelSource): string {
  return source.kind === 'peer' ? `peer ${source.peer}` : source.kind === 'origin' ? `origin ${source.url}` : 'cache'
}


function shuffle<T> (items: T[], random: () => number): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

function defaultOriginBase (): string {
  const href = (globalThis as { location?: { href?: string } }).location?.href
  return href === undefined ? 'models/' : new URL('models/', href).toString()
}

/**
 * Streams `url` into a buffer of exactly `entry.bytes`, refusing more.
 * @throws {ModelFetchError} non-2xx, no body, more or fewer bytes than the catalog says.
 */
async function fetchFromOrigin (url: string, entry: ModelEntry, fetchFn: typeof globalThis.fetch, options: {
  signal?: AbortSignal
  onProgress?: (progress: ModelProgress) => void
}): Promise<Uint8Array> {
  const res = await fetchFn(url, { signal: options.signal })
  if (!res.ok) throw new ModelFetchError(url, `HTTP ${res.status}`)
  if (res.body === null) throw new ModelFetchError(url, 'response has no body')
  const out = new Uint8Array(entry.bytes)
  const reader = res.body.getReader()
  let received = 0
  options.onProgress?.({ source: 'origin', received, total: entry.bytes })
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) break
      if (received + value.length > entry.bytes) throw new ModelFetchError(url, `more than the ${entry.bytes} bytes the catalog lists`)
      out.set(value, received)
      received += value.length
      options.onProgress?.({ source: 'origin', received, total: entry.bytes })
    }
  } catch (err) {
    await reader.cancel().catch(() => {})
    throw err
  } finally {
    reader.releaseLock()
  }
  if (received !== entry.bytes) throw new ModelFetchError(url, `${received} bytes, the catalog lists ${entry.bytes}`)
  return out
}

/**
 * The verified bytes of `entry`, from the cache, a peer or the origin (see
 * the file header for the order and why).
 * @throws {ModelUnavailableError} every source failed; `failures` lists each (hash mismatches as {@link SourceHashMismatchError}).
 * @throws the signal's reason when the caller aborts.
 */
export async function loadModel<P extends { toString: () => string } = PeerId> (entry: ModelEntry, options: LoadModelOptions<P> = {}): Promise<LoadedModel> {
  const { signal, cache } = options
  const bad = options.bad ?? new Set<string>()
  const failures: SourceFailure[] = []
  const fail = (source: ModelSource, error: Error): void => {
    signal?.throwIfAborted()
    const failure = { source, error }
    failures.push(failure)
    options.onSourceFailed?.(failure)
  }
  signal?.throwIfAborted()

  if (cache !== undefined) {
    let cached: Uint8Array | undefined
    try {
      cached = await cache.get(entry.sha256, { signal })
    } catch (err) {
      // A broken cache must not stop the download; the failure is still reported.
      fail({ kind: 'cache' }, err as Error)
    }
    if (cached !== undefined) {
      const actual = await sha256Hex(cached)
      if (actual === entry.sha256) {
        options.onProgress?.({ source: 'cache', received: cached.length, total: cached.length })
        return { bytes: cached, source: { kind: 'cache' } }
      }
      // Corrupted storage: drop the entry so it is not served to peers either.
      fail({ kind: 'cache' }, new SourceHashMismatchError({ kind: 'cache' }, entry.sha256, actual))
      await cache.delete?.(entry.sha256, { signal })
    }
  }

  const tryPeers = async (): Promise<LoadedModel | undefined> => {
    if (options.fetchBlob === undefined || options.peers === undefined) return undefined
    const candidates = shuffle(options.peers().filter(p => !bad.has(p.toString())), options.random ?? Math.random)
    for (const peer of candidates.slice(0, MODEL_MAX_PEER_ATTEMPTS)) {
      const source: ModelSource = { kind: 'peer', peer: peer.toString() }
      try {
        const bytes = await options.fetchBlob(peer, entry.sha256, {
          signal,
          expectedBytes: entry.bytes,
          maxBytes: entry.bytes,
          onProgress: p => options.onProgress?.({ source: 'peer', peer: source.peer, received: p.received, total: p.total })
        })
        const actual = await sha256Hex(bytes)
        if (actual === entry.sha256) return { bytes, source }
        bad.add(source.peer)
        fail(source, new SourceHashMismatchError(source, entry.sha256, actual))
      } catch (err) {
        const error = err as Error
        if (error.name === 'BlobHashMismatchError') {
          bad.add(source.peer)
          fail(source, new SourceHashMismatchError(source, entry.sha256, (error as { actual?: string }).actual, { cause: error }))
        } else {
          fail(source, error)
        }
      }
    }
    return undefined
  }

  const tryOrigin = async (): Promise<LoadedModel | undefined> => {
    const fetchFn = 'fetch' in options ? options.fetch : globalThis.fetch
    if (fetchFn === undefined || bad.has('origin')) return undefined
    const url = new URL(encodeURIComponent(entry.file), options.originBase ?? defaultOriginBase()).toString()
    const source: ModelSource = { kind: 'origin', url }
    try {
      const bytes = await fetchFromOrigin(url, entry, fetchFn, { signal, onProgress: options.onProgress })
      const actual = await sha256Hex(bytes)
      if (actual === entry.sha256) return { bytes, source }
      bad.add('origin')
      fail(source, new SourceHashMismatchError(source, entry.sha256, actual))
    } catch (err) {
      fail(source, err as Error)
    }
    return undefined
  }

  const order = options.order === 'origin-first' ? [tryOrigin, tryPeers] : [tryPeers, tryOrigin]
  for (const attempt of order) {
    const loaded = await attempt()
    if (loaded === undefined) continue
    if (cache === undefined) return loaded
    try {
      await cache.put(entry.sha256, loaded.bytes, { signal })
      return loaded
    } catch (err) {
      signal?.throwIfAborted()
      return { ...loaded, cacheError: err as Error }
    }
  }
  throw new ModelUnavailableError(entry.id, failures)
}
