/**
 * Whether the browser may clear this profile's storage on its own. By
 * default IndexedDB is "best effort": under storage pressure the browser may
 * evict it, and with it the jobs a requester posted (inputs, verified
 * results) that exist nowhere else. Posting a job asks for persistent
 * storage (Chromium grants or refuses it silently by its own rules, Firefox
 * asks the user); the Jobs page says which it is and how much is stored.
 */

/** The part of `navigator.storage` used here (a test passes its own). */
export interface StorageManagerLike {
  persist?: () => Promise<boolean>
  persisted?: () => Promise<boolean>
  estimate?: () => Promise<{ usage?: number, quota?: number }>
}

/** What the Jobs page shows; a field is absent where the browser does not say. */
export interface StorageState {
  persisted?: boolean
  /** Bytes this origin stores, and may store. */
  usage?: number
  quota?: number
}

/** `navigator.storage`, where there is one. */
export function platformStorage (): StorageManagerLike | undefined {
  return (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage
}

/**
 * Asks for persistent storage, once it is worth it (a job was posted).
 * @returns whether storage is persistent now; undefined where the browser cannot say. Never throws.
 */
export async function requestPersistence (storage: StorageManagerLike | undefined = platformStorage()): Promise<boolean | undefined> {
  try {
    if (typeof storage?.persisted === 'function' && await storage.persisted()) return true
    if (typeof storage?.persist !== 'function') return undefined
    return await storage.persist()
  } catch {
    return undefined
  }
}

/** Whether storage is persistent and how much is used, as far as the browser says. Never throws. */
export async function storageState (storage: StorageManagerLike | undefined = platformStorage()): Promise<StorageState> {
  const out: StorageState = {}
  try {
    if (typeof storage?.persisted === 'function') out.persisted = await storage.persisted()
  } catch {}
  try {
    const e = typeof storage?.estimate === 'function' ? await storage.estimate() : undefined
    if (typeof e?.usage === 'number' && Number.isFinite(e.usage)) out.usage = e.usage
    if (typeof e?.quota === 'number' && Number.isFinite(e.quota)) out.quota = e.quota
  } catch {}
  return out
}
