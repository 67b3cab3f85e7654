/**
 * The model cache over IndexedDB (fake-indexeddb in Node): round trip by
 * sha256, only verified bytes accepted, listing for presence and with sizes
 * (also in a profile from before sizes were indexed), deletion, and
 * quota failures surfaced as StorageQuotaError (from the storage estimate and
 * from IndexedDB itself), never swallowed.
 */
import 'fake-indexeddb/auto'
import { describe, it, expect, afterEach } from 'vitest'
import { ModelCache, StorageQuotaError } from '../../../src/store/model-cache.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'

let n = 0
const fresh = (init: ConstructorParameters<typeof ModelCache>[0] = {}): ModelCache =>
  new ModelCache({ dbName: `essaim-model-cache-${++n}`, estimate: undefined, ...init })

const model = (fill: number, size = 1000): { bytes: Uint8Array, hash: string } => {
  const bytes = new Uint8Array(size).fill(fill)
  return { bytes, hash: toHex(sha256(bytes)) }
}

describe('ModelCache', () => {
  const put = IDBObjectStore.prototype.put
  afterEach(() => { IDBObjectStore.prototype.put = put })

  it('stores verified bytes and returns them by sha256, across instances', async () => {
    const a = model(1)
    const cache = fresh()
    expect(await cache.has(a.hash)).toBe(false)
    expect(await cache.get(a.hash)).toBeUndefined()
    await cache.put(a.hash, a.bytes)
    expect(await cache.has(a.hash)).toBe(true)
    expect(await cache.get(a.hash)).toEqual(a.bytes)
    // A later visit (new instance, same database) finds it.
    const again = new ModelCache({ dbName: `essaim-model-cache-${n}`, estimate: undefined })
    expect(await again.get(a.hash)).toEqual(a.bytes)
  })

  it('refuses bytes that do not hash to their key, and malformed keys', async () => {
    const a = model(1)
    const b = model(2)
    const cache = fresh()
    await expect(cache.put(a.hash, b.bytes)).rejects.toThrow(TypeError)
    expect(await cache.has(a.hash)).toBe(false)
    await expect(cache.get('AB'.repeat(32))).rejects.toThrow(TypeError)
    await expect(cache.put('ab', a.bytes)).rejects.toThrow(TypeError)
  })

  it('lists cached hashes sorted, and deletes', async () => {
    const items = [model(3), model(4), model(5)]
    const cache = fresh()
    for (const m of items) await cache.put(m.hash, m.bytes)
    expect(await cache.list()).toEqual(items.map(m => m.hash).sort())
    await cache.delete(items[1]!.hash)
    await cache.delete(items[1]!.hash)
    expect(await cache.list()).toEqual([items[0]!.hash, items[2]!.hash].sort())
    expect(await cache.get(items[1]!.hash)).toBeUndefined()
  })

  it('lists every cached model with its size, without reading the bytes', async () => {
    const a = model(3, 1200)
    const b = model(4, 50)
    const cache = fresh()
    expect(await cache.entries()).toEqual([])
    await cache.put(a.hash, a.bytes)
    await cache.put(b.hash, b.bytes)
    expect(await cache.entries()).toEqual([{ sha256: a.hash, bytes: 1200 }, { sha256: b.hash, bytes: 50 }].sort((x, y) => x.sha256.localeCompare(y.sha256)))
    await cache.delete(a.hash)
    expect(await cache.entries()).toEqual([{ sha256: b.hash, bytes: 50 }])
  })

  it('a profile from before sizes were indexed (database version 2) lists the models it had', async () => {
    const a = model(5, 300)
    const name = `essaim-model-cache-${++n}`
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(name, 2)
      req.onupgradeneeded = () => {
        for (const store of ['identity', 'models', 'kv', 'jobs', 'inputs', 'outputs', 'log', 'receipts']) req.result.createObjectStore(store)
        req.transaction!.objectStore('models').put({ bytes: a.bytes, size: a.bytes.length, storedAt: 1 }, a.hash)
      }
      req.onsuccess = () => { req.result.close(); resolve() }
      req.onerror = () => { reject(req.error) }
    })
    const cache = new ModelCache({ dbName: name, estimate: undefined })
    expect(await cache.entries()).toEqual([{ sha256: a.hash, bytes: 300 }])
    expect(await cache.get(a.hash)).toEqual(a.bytes)
  })

  it('a storage estimate without room gives StorageQuotaError before writing', async () => {
    const a = model(6, 5000)
    const cache = fresh({ estimate: async () => ({ usage: 9_000, quota: 10_000 }) })
    const err = await cache.put(a.hash, a.bytes).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageQuotaError)
    expect(err).toMatchObject({ name: 'StorageQuotaError', sha256: a.hash, bytes: 5000, available: 1000 })
    expect(await cache.has(a.hash)).toBe(false)
    const roomy = fresh({ estimate: async () => ({ usage: 0, quota: 10_000 }) })
    await roomy.put(a.hash, a.bytes)
    expect(await roomy.has(a.hash)).toBe(true)
  })

  it('IndexedDB refusing for quota gives StorageQuotaError; other failures pass through unchanged', async () => {
    const a = model(7)
    const cache = fresh()
    IDBObjectStore.prototype.put = function () { throw new DOMException('quota', 'QuotaExceededError') }
    const err = await cache.put(a.hash, a.bytes).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'StorageQuotaError', sha256: a.hash })
    expect((err as Error).cause).toMatchObject({ name: 'QuotaExceededError' })
    IDBObjectStore.prototype.put = function () { throw new DOMException('nope', 'DataError') }
    await expect(cache.put(a.hash, a.bytes)).rejects.toMatchObject({ name: 'DataError' })
  })

  it('honours an aborted signal', async () => {
    const a = model(8)
    const cache = fresh()
    await expect(cache.put(a.hash, a.bytes, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(await cache.has(a.hash)).toBe(false)
  })
})
