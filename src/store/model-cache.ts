/**
 * Verified model bytes by sha256, in the `models` store of the profile's
 * IndexedDB (src/store/db.ts), so a second visit does not download a model
 * again and so this peer can serve it to others over `/essaim/blob/1.0.0`
 * (it has the shape of the net layer's `BlobStore` port).
 *
 * Only bytes that hash to their key are stored: `put` checks, because the
 * blob service hands these bytes to other peers as-is. Running out of space
 * is the one failure a user can act on (free space, or accept a re-download
 * next time): it surfaces as `StorageQuotaError`, never swallowed, both when
 * the storage estimate says it cannot fit and when IndexedDB refuses.
 *
 * A connection is opened per operation: model cache calls are few, and a
 * short-lived connection never blocks another tab's schema upgrade.
 */
import type { IDBPDatabase } from 'idb'
import { isHex, sha256Hex } from '../core/bytes.ts'
import { DB_NAME, openEssaimDB, type EssaimDB } from './db.ts'
import { platformStorage } from './persistence.ts'

/** The browser will not store these bytes: the origin's storage quota is exhausted. */
export class StorageQuotaError extends Error {
  override readonly name = 'StorageQuotaError' as const
  constructor (readonly sha256: string, readonly bytes: number, readonly available: number | undefined, options?: ErrorOptions) {
    super(available === undefined
      ? `no room to cache ${bytes} bytes of model ${sha256}: storage quota exceeded`
      : `no room to cache ${bytes} bytes of model ${sha256}: about ${available} bytes free`, options)
  }
}

export interface StorageEstimate { usage?: number, quota?: number }

export interface ModelCacheInit {
  /** IndexedDB database name (tests use their own). */
  dbName?: string
  /** Storage estimate (default `navigator.storage.estimate`); absent → only IndexedDB's own refusal counts. */
  estimate?: () => Promise<StorageEstimate>
  now?: () => number
}

function defaultEstimate (): (() => Promise<StorageEstimate>) | undefined {
  const storage = platformStorage()
  return typeof storage?.estimate === 'function' ? storage.estimate.bind(storage) : undefined
}

function isQuotaError (err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name
  // Older Firefox reports NS_ERROR_DOM_QUOTA_REACHED; code 22 is the legacy QUOTA_EXCEEDED_ERR.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || (err as { code?: unknown } | undefined)?.code === 22
}

function checkKey (sha256: string): void {
  if (!isHex(sha256, 32)) throw new TypeError('sha256 must be 64 lowercase hex characters')
}

/**
 * Has the shape of the net layer's `BlobStore` port (`get`, `has`), which
 * `src/swarm` hands to the blob service; store may not import net.
 */
export class ModelCache {
  private readonly dbName: string
  private readonly estimate?: () => Promise<StorageEstimate>
  private readonly now: () => number

  constructor (init: ModelCacheInit = {}) {
    this.dbName = init.dbName ?? DB_NAME
    this.estimate = 'estimate' in init ? init.estimate : defaultEstimate()
    this.now = init.now ?? Date.now
  }

  private async with<T> (fn: (db: IDBPDatabase<EssaimDB>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    const db = await openEssaimDB(this.dbName)
    try {
      return await fn(db)
    } finally {
      db.close()
    }
  }

  /**
   * The cached bytes for `sha256`, or undefined.
   * @throws {TypeError} `sha256` is not lowercase hex of 32 bytes.
   */
  async get (sha256: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    checkKey(sha256)
    const row = await this.with(async db => await db.get('models', sha256), options.signal)
    // IndexedDB hands back a fresh structured clone: no need to copy again.
    return row?.bytes
  }

  async has (sha256: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    checkKey(sha256)
    return await this.with(async db => (await db.getKey('models', sha256)) !== undefined, options.signal)
  }

  /**
   * Stores `bytes` under `sha256` after checking that they hash to it.
   * @throws {StorageQuotaError} the storage estimate leaves no room, or IndexedDB refused for quota.
   * @throws {TypeError} `sha256` is malformed or the bytes do not hash to it (a caller bug: store only verified bytes).
   */
  async put (sha256: string, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkKey(sha256)
    if (await sha256Hex(bytes) !== sha256) throw new TypeError(`bytes do not hash to ${sha256}; only verified bytes may be cached`)
    options.signal?.throwIfAborted()
    if (this.estimate !== undefined) {
      const { usage, quota } = await this.estimate()
      if (usage !== undefined && quota !== undefined && usage + bytes.length > quota) {
        throw new StorageQuotaError(sha256, bytes.length, Math.max(0, quota - usage))
      }
    }
    try {
      await this.with(async db => {
        const tx = db.transaction('models', 'readwrite')
        // Both awaited together: a quota failure rejects the put and the
        // transaction; awaiting only one would leave the other unhandled.
        await Promise.all([tx.store.put({ bytes, size: bytes.length, storedAt: this.now() }, sha256), tx.done])
      }, options.signal)
    } catch (err) {
      if (isQuotaError(err)) throw new StorageQuotaError(sha256, bytes.length, undefined, { cause: err })
      throw err
    }
  }

  /** Hashes of every cached model, sorted (what presence heartbeats advertise). */
  async list (options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const keys = await this.with(async db => await db.getAllKeys('models'), options.signal)
    return keys.sort()
  }

  /** Every cached model with its size in bytes, by sha256 (the bytes themselves are not read). */
  async entries (options: { signal?: AbortSignal } = {}): Promise<Array<{ sha256: string, bytes: number }>> {
    return await this.with(async db => {
      const out: Array<{ sha256: string, bytes: number }> = []
      let cursor = await db.transaction('models').store.index('by-size').openKeyCursor()
      while (cursor !== null) {
        out.push({ sha256: cursor.primaryKey, bytes: cursor.key })
        cursor = await cursor.continue()
      }
      return out.sort((a, b) => a.sha256.localeCompare(b.sha256))
    }, options.signal)
  }

  /** Removes a cached model; nothing happens if it is absent. */
  async delete (sha256: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkKey(sha256)
    await this.with(async db => { await db.delete('models', sha256) }, options.signal)
  }
}
