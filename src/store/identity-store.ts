/**
 * This browser profile's identity: one Ed25519 key, created on first visit
 * and kept in IndexedDB so a reload keeps the same peer id. It is kept as
 * its seed, not as a non-extractable WebCrypto key, because the requester
 * signs verdicts, tree heads and receipts synchronously (noble, inside the
 * scheduler's event handling, which orders the log), and libp2p's key object
 * (`privateKeyFromRaw` in src/net/node.ts) holds the raw bytes. libp2p itself
 * only ever calls the key's `sign` (Noise, gossipsub, identify's records),
 * which may be async: once every signature of the requester is async, the
 * seed can become a non-extractable key where the platform has native
 * Ed25519. It is stored only here, never sent anywhere and never logged.
 *
 * Two tabs opening at once must not each create a key: creation runs in one
 * IndexedDB transaction that re-reads before it writes.
 */
import { identityFromSeedAsync, randomSeed, type Identity } from '../core/identity.ts'
import { openEssaimDB } from './db.ts'

const SELF = 'self'

export async function loadOrCreateIdentity (): Promise<Identity> {
  const db = await openEssaimDB()
  let seed: Uint8Array
  try {
    const tx = db.transaction('identity', 'readwrite')
    const existing = await tx.store.get(SELF)
    if (existing !== undefined) {
      seed = new Uint8Array(existing.seed)
    } else {
      seed = randomSeed()
      await tx.store.put({ seed, createdAt: Date.now() }, SELF)
    }
    await tx.done
  } finally {
    db.close()
  }
  // After the transaction: deriving the public key may await native crypto, which would end it.
  return await identityFromSeedAsync(seed)
}
