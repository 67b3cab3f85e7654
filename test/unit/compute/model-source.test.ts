/**
 * loadModel end to end in Node: a real blob service between two libp2p nodes
 * (in-memory transport), the real IndexedDB model cache (fake-indexeddb), and
 * a scripted static origin. Corrupted bytes from the origin or from a peer are
 * rejected with ModelHashMismatchError naming the source and fetched
 * elsewhere; a second load comes from the cache without any download.
 */
import '../../../scripts/node22-polyfills.ts'
import 'fake-indexeddb/auto'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import type { PeerId } from '@libp2p/interface'
import { blob, type BlobService } from '../../../src/net/protocols/blob.ts'
import { ModelCache, StorageQuotaError } from '../../../src/store/model-cache.ts'
import {
  loadModel, type FetchBlob, type ModelBytesCache, type ModelProgress, type SourceFailure, type SourceHashMismatchError
} from '../../../src/compute/model-source.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'

const MODEL = (() => {
  const bytes = new Uint8Array(200_000)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24
  return bytes
})()
const corrupt = (bytes: Uint8Array): Uint8Array => { const c = bytes.slice(); c[1234] = c[1234]! ^ 0x40; return c }
const ENTRY = { id: 'test-model', file: 'test-model.onnx', sha256: toHex(sha256(MODEL)), bytes: MODEL.length }
const BASE = 'http://origin.test/models/'

/** A static origin serving `bytes` in 16 KiB pieces; counts requests. */
function origin (bytes: Uint8Array): { fetch: typeof fetch, calls: string[] } {
  const calls: string[] = []
  const fetchFn = (async (input: string | URL | Request) => {
    calls.push(String(input))
    let at = 0
    const body = new ReadableStream<Uint8Array>({
      pull (controller) {
        if (at >= bytes.length) { controller.close(); return }
        controller.enqueue(bytes.slice(at, at + 16 * 1024))
        at += 16 * 1024
      }
    })
    return new Response(body, { status: 200 })
  }) as typeof fetch
  return { fetch: fetchFn, calls }
}

const notFound = (async () => new Response('no', { status: 404 })) as unknown as typeof fetch

/** The rejection of `p` (fails the test if it resolves). */
async function rejection<E = Error> (p: Promise<unknown>): Promise<E> {
  return await p.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err as E)
}

type Node = Libp2p<{ blob: BlobService }>
let dbs = 0
const freshCache = (): ModelCache => new ModelCache({ dbName: `essaim-model-source-${++dbs}`, estimate: undefined })

describe('loadModel', () => {
  const served = new Map<string, Uint8Array>()
  let server: Node
  let client: Node
  let peerCalls: string[]
  let fetchBlob: FetchBlob<PeerId>

  beforeAll(async () => {
    const make = async (name: string): Promise<Node> => await createLibp2p({
      addresses: { listen: [`/memory/essaim-model-source-${process.pid}-${name}`] },
      transports: [memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        blob: blob({ store: { get: async h => served.get(h), has: async h => served.has(h) } })
      }
    })
    server = await make('server')
    client = await make('client')
    await client.dial(server.getMultiaddrs()[0]!)
    peerCalls = []
    fetchBlob = async (peer, hash, options) => {
      peerCalls.push(peer.toString())
      return await client.services.blob.fetchBlob(peer, hash, options)
    }
  })

  afterAll(async () => {
    await Promise.all([server?.stop(), client?.stop()])
  })

  it('corrupted origin bytes are rejected with a hash mismatch naming the origin, then fetched from a peer and cached', async () => {
    served.set(ENTRY.sha256, MODEL)
    const bad = new Set<string>()
    const failures: SourceFailure[] = []
    const progress: ModelProgress[] = []
    const cache = freshCache()
    const o = origin(corrupt(MODEL))
    peerCalls.length = 0
    const loaded = await loadModel(ENTRY, {
      order: 'origin-first', cache, peers: () => [server.peerId], fetchBlob, fetch: o.fetch, originBase: BASE, bad,
      onSourceFailed: f => failures.push(f), onProgress: p => progress.push(p)
    })
    expect(loaded.bytes).toEqual(MODEL)
    expect(loaded.source).toEqual({ kind: 'peer', peer: server.peerId.toString() })
    expect(o.calls).toEqual([`${BASE}test-model.onnx`])
    expect(failures).toHaveLength(1)
    const err = failures[0]!.error as SourceHashMismatchError
    expect(err.name).toBe('ModelHashMismatchError')
    expect(err.source).toEqual({ kind: 'origin', url: `${BASE}test-model.onnx` })
    expect(err.actual).toBe(toHex(sha256(corrupt(MODEL))))
    expect(bad.has('origin')).toBe(true)
    expect(progress.filter(p => p.source === 'origin').at(-1)).toEqual({ source: 'origin', received: MODEL.length, total: MODEL.length })
    expect(progress.filter(p => p.source === 'peer').at(-1)).toMatchObject({ peer: server.peerId.toString(), received: MODEL.length, total: MODEL.length })
    expect(await cache.get(ENTRY.sha256)).toEqual(MODEL)
  })

  it('a corrupted peer is rejected and remembered as bad, the origin serves, and a second visit loads from the cache', async () => {
    served.set(ENTRY.sha256, corrupt(MODEL))
    const bad = new Set<string>()
    const failures: SourceFailure[] = []
    const cache = freshCache()
    const o = origin(MODEL)
    peerCalls.length = 0
    const loaded = await loadModel(ENTRY, {
      cache, peers: () => [server.peerId], fetchBlob, fetch: o.fetch, originBase: BASE, bad, onSourceFailed: f => failures.push(f)
    })
    expect(loaded.bytes).toEqual(MODEL)
    expect(loaded.source.kind).toBe('origin')
    expect(peerCalls).toEqual([server.peerId.toString()])
    expect(failures.map(f => [f.error.name, f.source])).toEqual([['ModelHashMismatchError', { kind: 'peer', peer: server.peerId.toString() }]])
    expect(bad.has(server.peerId.toString())).toBe(true)
    expect(o.calls).toHaveLength(1)

    // Second visit: new cache instance over the same database, no download at all.
    const again = new ModelCache({ dbName: `essaim-model-source-${dbs}`, estimate: undefined })
    const o2 = origin(MODEL)
    peerCalls.length = 0
    const progress: ModelProgress[] = []
    const second = await loadModel(ENTRY, {
      cache: again, peers: () => [server.peerId], fetchBlob, fetch: o2.fetch, originBase: BASE, onProgress: p => progress.push(p)
    })
    expect(second.bytes).toEqual(MODEL)
    expect(second.source).toEqual({ kind: 'cache' })
    expect(o2.calls).toHaveLength(0)
    expect(peerCalls).toHaveLength(0)
    expect(progress).toEqual([{ source: 'cache', received: MODEL.length, total: MODEL.length }])
  })

  it('a peer already known bad is skipped', async () => {
    served.set(ENTRY.sha256, MODEL)
    peerCalls.length = 0
    const loaded = await loadModel(ENTRY, {
      peers: () => [server.peerId], fetchBlob, fetch: origin(MODEL).fetch, originBase: BASE, bad: new Set([server.peerId.toString()])
    })
    expect(loaded.source.kind).toBe('origin')
    expect(peerCalls).toHaveLength(0)
  })

  it('a corrupted cache entry is dropped and the model downloaded again', async () => {
    const store = new Map([[ENTRY.sha256, corrupt(MODEL)]])
    const cache: ModelBytesCache = {
      get: async h => store.get(h),
      put: async (h, b) => { store.set(h, b) },
      delete: async h => { store.delete(h) }
    }
    const failures: SourceFailure[] = []
    const loaded = await loadModel(ENTRY, { cache, fetch: origin(MODEL).fetch, originBase: BASE, onSourceFailed: f => failures.push(f) })
    expect(loaded.source.kind).toBe('origin')
    expect(failures.map(f => [f.source.kind, f.error.name])).toEqual([['cache', 'ModelHashMismatchError']])
    expect(store.get(ENTRY.sha256)).toEqual(MODEL)
  })

  it('an origin sending more bytes than the catalog lists is cut off; with no other source the load fails listing every failure', async () => {
    served.clear()
    const big = new Uint8Array(MODEL.length + 1)
    big.set(MODEL)
    type Unavailable = Error & { failures: SourceFailure[] }
    const err = await rejection<Unavailable>(loadModel(ENTRY, { peers: () => [server.peerId], fetchBlob, fetch: origin(big).fetch, originBase: BASE }))
    expect(err.name).toBe('ModelUnavailableError')
    expect(err.failures.map(f => [f.source.kind, f.error.name])).toEqual([['peer', 'BlobNotFoundError'], ['origin', 'ModelFetchError']])
    const err404 = await rejection<Unavailable>(loadModel(ENTRY, { fetch: notFound, originBase: BASE }))
    expect(err404.failures.map(f => f.error.message)).toEqual([`fetching ${BASE}test-model.onnx: HTTP 404`])
  })

  it('bytes that cannot be cached are still returned, with the quota error surfaced', async () => {
    const cache = new ModelCache({ dbName: `essaim-model-source-${++dbs}`, estimate: async () => ({ usage: 100, quota: 1000 }) })
    const loaded = await loadModel(ENTRY, { cache, fetch: origin(MODEL).fetch, originBase: BASE })
    expect(loaded.bytes).toEqual(MODEL)
    expect(loaded.cacheError).toBeInstanceOf(StorageQuotaError)
    expect(await cache.has(ENTRY.sha256)).toBe(false)
  })

  it('stops with the caller\'s reason when aborted', async () => {
    served.set(ENTRY.sha256, MODEL)
    const controller = new AbortController()
    const slow = (async (_: unknown, init?: RequestInit) => {
      controller.abort()
      init?.signal?.throwIfAborted()
      return new Response(MODEL)
    }) as unknown as typeof fetch
    const err = await rejection(loadModel(ENTRY, {
      order: 'origin-first', signal: controller.signal, peers: () => [server.peerId], fetchBlob, fetch: slow, originBase: BASE
    }))
    expect(err.name).toBe('AbortError')
  })
})
