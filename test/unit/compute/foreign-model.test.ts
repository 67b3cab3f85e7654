/**
 * loadForeignModel (a requester's own model, not in the catalog) in Node over
 * real blob services between in-memory libp2p nodes and the real IndexedDB
 * model cache (fake-indexeddb): peers are asked in the order given, a peer
 * serving other bytes under the hash is skipped and remembered, a model over
 * the cap is refused with ModelTooLargeError before anything is allocated
 * (before anything is asked when the manifest declares its size), a declared
 * size is what every transfer must announce and what the bytes must be, and
 * a second load comes from the cache.
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
import { ModelCache } from '../../../src/store/model-cache.ts'
import type { FetchBlob, ModelProgress, SourceFailure } from '../../../src/compute/model-source.ts'
import { FOREIGN_MODEL_MAX_BYTES, loadForeignModel, ModelSizeMismatchError, ModelTooLargeError } from '../../../src/compute/foreign-model.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'

const MODEL = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 2654435761) >>> 24)
const REF = { id: 'my-model', sha256: toHex(sha256(MODEL)) }
const corrupt = (bytes: Uint8Array): Uint8Array => { const c = bytes.slice(); c[777] = c[777]! ^ 1; return c }

type Node = Libp2p<{ blob: BlobService }>
let dbs = 0
const freshCache = (): ModelCache => new ModelCache({ dbName: `essaim-foreign-model-${++dbs}`, estimate: undefined })

async function rejection<E = Error> (p: Promise<unknown>): Promise<E> {
  return await p.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err as E)
}

describe('loadForeignModel', () => {
  /** What each serving node holds, by node name then hash. */
  const held = { requester: new Map<string, Uint8Array>(), liar: new Map<string, Uint8Array>() }
  let requester: Node
  let liar: Node
  let client: Node
  let asked: string[]
  let fetchBlob: FetchBlob<PeerId>

  beforeAll(async () => {
    const make = async (name: string, store?: Map<string, Uint8Array>): Promise<Node> => await createLibp2p({
      addresses: { listen: [`/memory/essaim-foreign-model-${process.pid}-${name}`] },
      transports: [memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { blob: blob(store === undefined ? {} : { store: { get: async h => store.get(h), has: async h => store.has(h) } }) }
    })
    requester = await make('requester', held.requester)
    liar = await make('liar', held.liar)
    client = await make('client')
    await client.dial(requester.getMultiaddrs()[0]!)
    await client.dial(liar.getMultiaddrs()[0]!)
    fetchBlob = async (peer, hash, options) => {
      asked.push(peer.toString())
      return await client.services.blob.fetchBlob(peer, hash, options)
    }
  })

  afterAll(async () => {
    await Promise.all([requester?.stop(), liar?.stop(), client?.stop()])
  })

  it('fetches from the requester, caches, and a second load comes from the cache without asking anyone', async () => {
    held.requester.set(REF.sha256, MODEL)
    asked = []
    const cache = freshCache()
    const progress: ModelProgress[] = []
    const loaded = await loadForeignModel(REF, { peers: [requester.peerId, liar.peerId], fetchBlob, cache, onProgress: p => progress.push(p) })
    expect(loaded.bytes).toEqual(MODEL)
    expect(loaded.source).toEqual({ kind: 'peer', peer: requester.peerId.toString() })
    expect(asked).toEqual([requester.peerId.toString()])
    expect(progress.at(-1)).toMatchObject({ source: 'peer', peer: requester.peerId.toString(), received: MODEL.length, total: MODEL.length })
    expect(await cache.get(REF.sha256)).toEqual(MODEL)

    asked = []
    const again = await loadForeignModel(REF, { peers: [requester.peerId], fetchBlob, cache: new ModelCache({ dbName: `essaim-foreign-model-${dbs}`, estimate: undefined }) })
    expect(again.source).toEqual({ kind: 'cache' })
    expect(asked).toEqual([])
  })

  it('a peer serving other bytes under the hash is skipped, remembered as bad, and the next peer serves', async () => {
    held.liar.set(REF.sha256, corrupt(MODEL))
    held.requester.set(REF.sha256, MODEL)
    asked = []
    const bad = new Set<string>()
    const failures: SourceFailure[] = []
    const loaded = await loadForeignModel(REF, { peers: [liar.peerId, requester.peerId], fetchBlob, bad, onSourceFailed: f => failures.push(f) })
    expect(loaded.source).toEqual({ kind: 'peer', peer: requester.peerId.toString() })
    expect(failures.map(f => [f.source, f.error.name])).toEqual([[{ kind: 'peer', peer: liar.peerId.toString() }, 'ModelHashMismatchError']])
    expect(bad.has(liar.peerId.toString())).toBe(true)

    // Known bad: not asked again; a peer listed twice is asked once.
    asked = []
    await loadForeignModel(REF, { peers: [liar.peerId, requester.peerId, requester.peerId], fetchBlob, bad })
    expect(asked).toEqual([requester.peerId.toString()])
  })

  it('a model over the cap is refused with its size, before it is downloaded', async () => {
    held.requester.set(REF.sha256, MODEL)
    asked = []
    const progress: ModelProgress[] = []
    const err = await rejection<ModelTooLargeError>(loadForeignModel(REF, { peers: [requester.peerId], fetchBlob, maxBytes: 100_000, onProgress: p => progress.push(p) }))
    expect(err).toBeInstanceOf(ModelTooLargeError)
    expect(err.name).toBe('ModelTooLargeError')
    expect(err.bytes).toBe(MODEL.length)
    expect(err.limit).toBe(100_000)
    expect(err.message).toBe('model my-model is 0.1 MiB (150000 bytes), over the 0.1 MiB limit for models that are not in the catalog')
    expect(progress).toEqual([])
    expect(FOREIGN_MODEL_MAX_BYTES).toBe(64 * 1024 * 1024)
  })

  it('a declared size over the cap is refused before any source is asked, the cache included', async () => {
    held.requester.set(REF.sha256, MODEL)
    asked = []
    let cacheReads = 0
    const cache = { get: async () => { cacheReads++; return MODEL }, put: async () => {} }
    const err = await rejection<ModelTooLargeError>(loadForeignModel({ ...REF, bytes: MODEL.length }, { peers: [requester.peerId], fetchBlob, cache, maxBytes: 100_000 }))
    expect(err).toBeInstanceOf(ModelTooLargeError)
    expect([err.bytes, err.limit]).toEqual([MODEL.length, 100_000])
    expect(err.message).toBe('model my-model is 0.1 MiB (150000 bytes), over the 0.1 MiB limit for models that are not in the catalog')
    expect(asked).toEqual([])
    expect(cacheReads).toBe(0)
  })

  it('with a declared size, a peer announcing another is skipped (not blamed for bytes it never sent) and the next one serves', async () => {
    held.liar.set(REF.sha256, Uint8Array.from([...MODEL, 0]))
    held.requester.set(REF.sha256, MODEL)
    const bad = new Set<string>()
    const failures: SourceFailure[] = []
    const loaded = await loadForeignModel({ ...REF, bytes: MODEL.length }, { peers: [liar.peerId, requester.peerId], fetchBlob, bad, onSourceFailed: f => failures.push(f) })
    expect(loaded.bytes).toEqual(MODEL)
    expect(failures.map(f => [f.source, f.error.name])).toEqual([[{ kind: 'peer', peer: liar.peerId.toString() }, 'BlobTooLargeError']])
    expect(bad.size).toBe(0)
    // A shorter announcement is refused as well; with no other source the model is unavailable, not too large.
    held.liar.set(REF.sha256, MODEL.subarray(0, MODEL.length - 1))
    const err = await rejection<Error & { failures: SourceFailure[] }>(loadForeignModel({ ...REF, bytes: MODEL.length }, { peers: [liar.peerId], fetchBlob }))
    expect(err.name).toBe('ModelUnavailableError')
    expect(err.failures.map(f => f.error.name)).toEqual(['BlobProtocolError'])
  })

  it('bytes with the right hash but not the declared size: the manifest is wrong, refused with both sizes', async () => {
    // A transport that does not enforce the size itself: the length is checked here too.
    const asks: Array<{ maxBytes?: number, expectedBytes?: number }> = []
    const lax: FetchBlob<PeerId> = async (_peer, _hash, options) => { asks.push({ maxBytes: options.maxBytes, expectedBytes: options.expectedBytes }); return MODEL }
    const err = await rejection<ModelSizeMismatchError>(loadForeignModel({ ...REF, bytes: MODEL.length + 5 }, { peers: [requester.peerId, liar.peerId], fetchBlob: lax }))
    expect(err).toBeInstanceOf(ModelSizeMismatchError)
    expect(err.name).toBe('ModelSizeMismatchError')
    expect(err.message).toBe(`model my-model is declared as ${MODEL.length + 5} bytes by its job, but the bytes with its sha256 are ${MODEL.length} bytes`)
    // The hash pins the bytes: no other peer is asked; the transfer was told the size to expect.
    expect(asks).toEqual([{ maxBytes: MODEL.length + 5, expectedBytes: MODEL.length + 5 }])
    // The same from the cache.
    const cache = { get: async () => MODEL, put: async () => {} }
    const cached = await rejection<ModelSizeMismatchError>(loadForeignModel({ ...REF, bytes: MODEL.length - 5 }, { peers: [], fetchBlob: lax, cache }))
    expect([cached.name, cached.declared, cached.actual]).toEqual(['ModelSizeMismatchError', MODEL.length - 5, MODEL.length])
  })

  it('nobody holding the model fails with every source listed, and a corrupted cache entry is dropped', async () => {
    held.requester.clear()
    held.liar.clear()
    const store = new Map([[REF.sha256, corrupt(MODEL)]])
    const cache = { get: async (h: string) => store.get(h), put: async () => {}, delete: async (h: string) => { store.delete(h) } }
    const err = await rejection<Error & { failures: SourceFailure[] }>(loadForeignModel(REF, { peers: [requester.peerId, liar.peerId], fetchBlob, cache }))
    expect(err.name).toBe('ModelUnavailableError')
    expect(err.failures.map(f => [f.source.kind, f.error.name])).toEqual([['cache', 'ModelHashMismatchError'], ['peer', 'BlobNotFoundError'], ['peer', 'BlobNotFoundError']])
    expect(store.size).toBe(0)
  })

  it('stops with the caller\'s reason when aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('user left'))
    const err = await rejection(loadForeignModel(REF, { peers: [requester.peerId], fetchBlob, signal: controller.signal }))
    expect(err.message).toBe('user left')
  })
})
