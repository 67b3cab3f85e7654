/**
 * Identity (src/core/identity.ts): RFC 8032 §7.1 vectors through our API,
 * the same key as a libp2p Ed25519 key in both directions (the net layer
 * builds it with `privateKeyFromRaw(seed ‖ publicKey)`), fast-check
 * round-trip/tamper properties, and hostile input to `verifySignature`.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { privateKeyFromRaw, generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { forgetVerifications, generateIdentity, identityFromSeed, sign, verifySignature } from '../../../src/core/identity.ts'
import { fromHex, toHex, concat } from '../../../src/core/bytes.ts'
import { RFC8032_ED25519 } from '../vectors/rfc8032.ts'
import { NOT_BYTES } from '../vectors/junk.ts'

describe('RFC 8032 §7.1 Ed25519 vectors', () => {
  for (const v of RFC8032_ED25519) {
    it(v.name, () => {
      const id = identityFromSeed(fromHex(v.secret))
      expect(toHex(id.publicKey)).toBe(v.publicKey)
      const msg = fromHex(v.message)
      expect(toHex(sign(id, msg))).toBe(v.signature)
      forgetVerifications() // sign() remembers its own signature as verified: check it afresh
      expect(verifySignature(fromHex(v.signature), msg, id.publicKey)).toBe(true)
      const bad = fromHex(v.signature)
      bad[0] = bad[0]! ^ 1
      expect(verifySignature(bad, msg, id.publicKey)).toBe(false)
    })
  }
})

describe('the identity is the libp2p peer key', () => {
  it('noble signature verifies with @libp2p/crypto and the reverse (privateKeyFromRaw(seed ‖ pub))', async () => {
    for (const v of RFC8032_ED25519) {
      const id = identityFromSeed(fromHex(v.secret))
      const key = privateKeyFromRaw(concat(id.seed, id.publicKey))
      expect(key.type).toBe('Ed25519')
      expect(key.publicKey.raw).toEqual(id.publicKey)
      const msg = fromHex(v.message)
      // libp2p → noble
      const libSig = await key.sign(msg)
      expect(toHex(libSig)).toBe(v.signature)
      expect(verifySignature(libSig, msg, id.publicKey)).toBe(true)
      // noble → libp2p
      expect(await key.publicKey.verify(msg, sign(id, msg))).toBe(true)
      expect(await publicKeyFromRaw(id.publicKey).verify(msg, sign(id, msg))).toBe(true)
    }
  })

  it('a seed gives the same key via generateKeyPairFromSeed, and the same peer id', async () => {
    const id = generateIdentity()
    const fromSeed = await generateKeyPairFromSeed('Ed25519', id.seed)
    const fromRaw = privateKeyFromRaw(concat(id.seed, id.publicKey))
    expect(fromSeed.publicKey.raw).toEqual(id.publicKey)
    expect(peerIdFromPrivateKey(fromRaw).toString()).toBe(peerIdFromPrivateKey(fromSeed).toString())
    expect(peerIdFromPublicKey(publicKeyFromRaw(id.publicKey)).toString()).toMatch(/^12D3KooW/)
  })

  it('random messages: both libraries agree both ways', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 256 }), async (seed, msg) => {
      const id = identityFromSeed(seed)
      const key = privateKeyFromRaw(concat(id.seed, id.publicKey))
      expect(verifySignature(await key.sign(msg), msg, id.publicKey)).toBe(true)
      expect(await key.publicKey.verify(msg, sign(id, msg))).toBe(true)
    }), { numRuns: 50 })
  })
})

describe('identity API', () => {
  it('generates distinct 32-byte keys and copies the seed it is given', () => {
    const a = generateIdentity()
    const b = generateIdentity()
    expect(a.seed.length).toBe(32)
    expect(a.publicKey.length).toBe(32)
    expect(a.publicKey).not.toEqual(b.publicKey)
    const seed = new Uint8Array(32).fill(7)
    const id = identityFromSeed(seed)
    seed.fill(0)
    expect(id.seed).toEqual(new Uint8Array(32).fill(7))
  })

  it('refuses malformed seeds with InvalidKeyError', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(64), ...NOT_BYTES]) {
      expect(() => identityFromSeed(bad as Uint8Array)).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
    }
  })

  it('property: sign/verify round-trips; any bit flip in sig, msg or key fails', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 1, maxLength: 128 }), fc.nat(), fc.integer({ min: 0, max: 7 }),
      (seed, msg, at, bit) => {
        const id = identityFromSeed(seed)
        const sig = sign(id, msg)
        forgetVerifications()
        expect(verifySignature(sig, msg, id.publicKey)).toBe(true)
        const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[at % c.length] = c[at % c.length]! ^ (1 << bit); return c }
        expect(verifySignature(flip(sig), msg, id.publicKey)).toBe(false)
        expect(verifySignature(sig, flip(msg), id.publicKey)).toBe(false)
        expect(verifySignature(sig, msg, flip(id.publicKey))).toBe(false)
      }
    ), { numRuns: 200 })
  })

  it('a remembered verification answers only for exactly the same bytes', () => {
    const id = identityFromSeed(new Uint8Array(32).fill(3))
    const other = identityFromSeed(new Uint8Array(32).fill(4))
    const msg = new Uint8Array([1, 2, 3, 4, 5])
    const sig = sign(id, msg)
    expect(verifySignature(sig, msg, id.publicKey)).toBe(true)
    expect(verifySignature(sig, msg, id.publicKey)).toBe(true)
    expect(verifySignature(sig, concat(msg, new Uint8Array([0])), id.publicKey)).toBe(false)
    expect(verifySignature(sig, msg.subarray(0, 4), id.publicKey)).toBe(false)
    expect(verifySignature(sig, msg, other.publicKey)).toBe(false)
    // Many other verifications later (the memo is bounded), the answer is unchanged.
    for (let i = 0; i < 50; i++) verifySignature(sign(other, new Uint8Array([i])), new Uint8Array([i]), other.publicKey)
    expect(verifySignature(sig, msg, id.publicKey)).toBe(true)
  })

  it('sign() remembers its own signatures as verified, but not those of a hand-made identity', () => {
    const id = identityFromSeed(new Uint8Array(32).fill(11))
    const msg = new Uint8Array([6, 6])
    const sig = sign(id, msg)
    expect(verifySignature(sig, msg, id.publicKey)).toBe(true)
    // A public key that is not the seed's: the signature must not pass as verified under it.
    const other = identityFromSeed(new Uint8Array(32).fill(12)).publicKey
    const forged = { seed: id.seed, publicKey: other }
    const sig2 = sign(forged, new Uint8Array([6, 7]))
    expect(verifySignature(sig2, new Uint8Array([6, 7]), other)).toBe(false)
  })

  it('verifySignature returns false, never throws, on hostile input', () => {
    const id = generateIdentity()
    const msg = new Uint8Array([1, 2, 3])
    const sig = sign(id, msg)
    for (const junk of [...NOT_BYTES, new Uint8Array(0), new Uint8Array(63), new Uint8Array(65)]) {
      expect(verifySignature(junk as Uint8Array, msg, id.publicKey)).toBe(false)
      expect(verifySignature(sig, junk as Uint8Array, id.publicKey)).toBe(false)
      expect(verifySignature(sig, msg, junk as Uint8Array)).toBe(false)
    }
    // All-zero and small-order keys (strict RFC 8032 mode), s ≥ L.
    expect(verifySignature(sig, msg, new Uint8Array(32))).toBe(false)
    const identityPoint = fromHex('0100000000000000000000000000000000000000000000000000000000000000')
    expect(verifySignature(concat(identityPoint, new Uint8Array(32)), msg, identityPoint)).toBe(false)
    const highS = sig.slice()
    highS.fill(0xff, 32)
    expect(verifySignature(highS, msg, id.publicKey)).toBe(false)
  })
})
