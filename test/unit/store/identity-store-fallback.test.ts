/**
 * The profile's key where the browser has no native Ed25519 (DESIGN.md
 * "Security rules": non-exportable where the platform allows, else in
 * IndexedDB). The platform's key functions are made to report what such a
 * browser reports (no key made, none imported), the rest is the product:
 * the key is a seed in IndexedDB, the same on every load, an older profile's
 * seed is kept as it is, and it signs through both the synchronous and the
 * asynchronous path.
 */
import 'fake-indexeddb/auto'
import { describe, it, expect, vi } from 'vitest'
import { loadOrCreateIdentity } from '../../../src/store/identity-store.ts'
import { openEssaimDB, type StoredIdentity } from '../../../src/store/db.ts'
import { identityFromSeed, sign, signAsync, verifySignature } from '../../../src/core/identity.ts'

vi.mock('../../../src/core/native-ed25519.ts', async importOriginal => ({
  ...await importOriginal<typeof import('../../../src/core/native-ed25519.ts')>(),
  nativeGenerateKey: async () => undefined,
  nativeKeyOf: async () => undefined
}))

let n = 0
const freshName = (): string => `essaim-identity-fallback-${++n}`
const msg = new TextEncoder().encode('a message')

async function stored (name: string): Promise<StoredIdentity | undefined> {
  const db = await openEssaimDB(name)
  try { return await db.get('identity', 'self') } finally { db.close() }
}

describe('the profile identity without native Ed25519', () => {
  it('is a seed kept in IndexedDB, the same on every load, signing both ways', async () => {
    const name = freshName()
    const first = await loadOrCreateIdentity(name)
    expect(first.key).toBeUndefined()
    expect(first.seed).toHaveLength(32)
    const record = await stored(name)
    expect(record !== undefined && 'seed' in record).toBe(true)
    const again = await loadOrCreateIdentity(name)
    expect(again.publicKey).toEqual(first.publicKey)
    expect(await signAsync(again, msg)).toEqual(sign(again, msg))
    expect(verifySignature(sign(again, msg), msg, first.publicKey)).toBe(true)
  })

  it('keeps an older profile\'s seed as it is', async () => {
    const name = freshName()
    const seed = new Uint8Array(32).fill(3)
    const db = await openEssaimDB(name)
    await db.put('identity', { seed, createdAt: 7 }, 'self')
    db.close()
    expect((await loadOrCreateIdentity(name)).publicKey).toEqual(identityFromSeed(seed).publicKey)
    expect(await stored(name)).toEqual({ seed, createdAt: 7 })
  })

  it('gives two tabs opening a fresh profile together one key', async () => {
    const name = freshName()
    const [a, b] = await Promise.all([loadOrCreateIdentity(name), loadOrCreateIdentity(name)])
    expect(b.publicKey).toEqual(a.publicKey)
  })
})
