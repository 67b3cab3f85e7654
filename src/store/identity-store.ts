/**
 * This browser profile's identity: one Ed25519 key, created on first visit
 * and kept in IndexedDB so a reload keeps the same peer id. Where the
 * browser has native Ed25519 it is kept as a non-extractable CryptoKey
 * (DESIGN.md "Security rules"): IndexedDB stores the key object, and no
 * script, this page's included, can read its bytes. Elsewhere it is kept as
 * its seed. A profile from before keys were held this way has a seed: its
 * first load moves it into a key (the same key, so the same peer id) and
 * forgets the seed. The key never leaves the device and is never logged.
 *
 * Two tabs opening at once must not each create a key: the write runs in one
 * IndexedDB transaction that re-reads before it writes, and a tab that finds
 * another's key uses it. (Keys are made before that transaction: WebCrypto's
 * promises would end it.)
 */
import { bytesEqual } from '../core/bytes.ts'
import {
  generatePlatformIdentity, identityFromKey, identityFromSeedAsync, platformIdentityFromSeed, randomSeed, type Identity
} from '../core/identity.ts'
import { openEssaimDB, type StoredIdentity } from './db.ts'

const SELF = 'self'

/**
 * The profile's identity, made on first use.
 * @throws {InvalidKeyError} if the stored key is damaged (not an Ed25519 key, or not its public key's).
 */
export async function loadOrCreateIdentity (dbName?: string): Promise<Identity> {
  const stored = await readSelf(dbName)
  if (stored !== undefined && 'key' in stored) return await identityFromKey(stored.key, stored.publicKey)
  if (stored !== undefined) {
    const moved = await platformIdentityFromSeed(stored.seed)
    if (moved === undefined) return await identityFromSeedAsync(stored.seed)
    // Written only over this very seed: another tab may have moved it already. A failed
    // write (a full disk) leaves the seed stored and the page working: the next load tries again.
    await writeSelf(dbName, { key: moved.key!, publicKey: moved.publicKey, createdAt: stored.createdAt },
      current => current !== undefined && 'seed' in current && bytesEqual(current.seed, stored.seed)).catch(() => false)
    return moved
  }
  const made = await generatePlatformIdentity()
  const record: StoredIdentity = made !== undefined
    ? { key: made.key!, publicKey: made.publicKey, createdAt: Date.now() }
    : { seed: randomSeed(), createdAt: Date.now() }
  if (!await writeSelf(dbName, record, current => current === undefined)) return await loadOrCreateIdentity(dbName)
  return made ?? await identityFromSeedAsync((record as { seed: Uint8Array }).seed)
}

async function readSelf (dbName: string | undefined): Promise<StoredIdentity | undefined> {
  const db = await openEssaimDB(dbName)
  try {
    return await db.get('identity', SELF)
  } finally {
    db.close()
  }
}

/** Writes `record` if the stored one passes `replaces`, in one transaction. @returns whether it wrote. */
async function writeSelf (dbName: string | undefined, record: StoredIdentity, replaces: (current: StoredIdentity | undefined) => boolean): Promise<boolean> {
  const db = await openEssaimDB(dbName)
  try {
    const tx = db.transaction('identity', 'readwrite')
    const write = replaces(await tx.store.get(SELF))
    if (write) await tx.store.put(record, SELF)
    await tx.done
    return write
  } finally {
    db.close()
  }
}
