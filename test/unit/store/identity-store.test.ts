/**
 * The profile's key (src/store/identity-store.ts) over IndexedDB
 * (fake-indexeddb in Node, whose structured clone keeps CryptoKeys as
 * browsers do): made on first use as a non-extractable platform key, the
 * same on every load, an older profile's seed moved into a key without
 * changing the peer id, two tabs at once agreeing on one key, and a damaged
 * stored key refused with a clear error.
 */
import 'fake-indexeddb/auto'
import { describe, it, expect } from 'vitest'
import { loadOrCreateIdentity } from '../../../src/store/identity-store.ts'
import { openEssaimDB, type StoredIdentity } from '../../../src/store/db.ts'
import { identityFromSeed, sign, signAsync, verifySignature } from '../../../src/core/identity.ts'
import { libp2pKey } from '../../../src/net/node.ts'

let n = 0
const freshName = (): string => `essaim-identity-${++n}`
const msg = new TextEncoder().encode('a message')

async function stored (name: string): Promise<StoredIdentity | undefined> {
  const db = await openEssaimDB(name)
  try { return await db.get('identity', 'self') } finally { db.close() }
}

async function put (name: string, record: unknown): Promise<void> {
  const db = await openEssaimDB(name)
  try { await db.put('identity', record as StoredIdentity, 'self') } finally { db.close() }
}

describe('the profile identity', () => {
  it('is made on first use as a key the platform holds, not extractable, and is the same on every load', async () => {
    const name = freshName()
    const first = await loadOrCreateIdentity(name)
    expect(first.seed).toBeUndefined()
    expect(first.key?.extractable).toBe(false)
    const record = await stored(name)
    expect(record !== undefined && 'key' in record && !('seed' in record)).toBe(true)
    const again = await loadOrCreateIdentity(name)
    expect(again.publicKey).toEqual(first.publicKey)
    const sig = await signAsync(again, msg)
    expect(verifySignature(sig, msg, first.publicKey)).toBe(true)
    expect(() => sign(again, msg)).toThrow(expect.objectContaining({ name: 'InvalidKeyError', message: expect.stringMatching(/asynchronously/) }))
  })

  it('moves an older profile\'s seed into a platform key: same peer id, same signatures, no seed left stored', async () => {
    const name = freshName()
    const seed = new Uint8Array(32).fill(9)
    const old = identityFromSeed(seed)
    await put(name, { seed, createdAt: 5 })
    const moved = await loadOrCreateIdentity(name)
    expect(moved.publicKey).toEqual(old.publicKey)
    expect(moved.seed).toBeUndefined()
    expect(await signAsync(moved, msg)).toEqual(sign(old, msg))
    const record = await stored(name)
    expect(record).toMatchObject({ publicKey: old.publicKey, createdAt: 5 })
    expect(record !== undefined && 'seed' in record).toBe(false)
    expect((await loadOrCreateIdentity(name)).publicKey).toEqual(old.publicKey)
  })

  it('gives two tabs opening a fresh profile together one key', async () => {
    const name = freshName()
    const [a, b, c] = await Promise.all([loadOrCreateIdentity(name), loadOrCreateIdentity(name), loadOrCreateIdentity(name)])
    expect(b.publicKey).toEqual(a.publicKey)
    expect(c.publicKey).toEqual(a.publicKey)
    expect(verifySignature(await signAsync(c, msg), msg, a.publicKey)).toBe(true)
  })

  it('refuses a stored key that is not its public key\'s, or not a signing key', async () => {
    const name = freshName()
    const mine = await loadOrCreateIdentity(name)
    const other = identityFromSeed(new Uint8Array(32).fill(1))
    await put(name, { key: mine.key, publicKey: other.publicKey, createdAt: 1 })
    await expect(loadOrCreateIdentity(name)).rejects.toMatchObject({ name: 'InvalidKeyError', message: expect.stringMatching(/does not match/) })
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
    await put(name, { key: pair.publicKey, publicKey: mine.publicKey, createdAt: 1 })
    await expect(loadOrCreateIdentity(name)).rejects.toMatchObject({ name: 'InvalidKeyError' })
  })

  it('is the libp2p key, which signs with it and has no bytes to give', async () => {
    const identity = await loadOrCreateIdentity(freshName())
    const key = libp2pKey(identity)
    expect(key.publicKey.raw).toEqual(identity.publicKey)
    const sig = await key.sign(msg)
    expect(await key.publicKey.verify(msg, sig)).toBe(true)
    expect(() => key.raw).toThrow(/cannot be read/)
    expect(key.equals(key)).toBe(true)
  })
})
