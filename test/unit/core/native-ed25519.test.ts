/**
 * The native Ed25519 path (src/core/native-ed25519.ts through identity.ts
 * `signAsync` / `verifySignatureAsync`): it must give noble's strict answer
 * for every input, including the corners where native verifiers differ from
 * strict RFC 8032 (small-order keys, s ≥ L, signatures that only hold under
 * the cofactored equation), and the same signature bytes. Node 20 has
 * Ed25519 in WebCrypto, so these run the native path, not the fallback.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import {
  forgetVerifications, identityFromSeed, identityFromSeedAsync, sign, signAsync, verifySignature, verifySignatureAsync
} from '../../../src/core/identity.ts'
import { nativeEd25519, nativePublicKey } from '../../../src/core/native-ed25519.ts'
import { concat, fromHex, toHex } from '../../../src/core/bytes.ts'
import { RFC8032_ED25519 } from '../vectors/rfc8032.ts'
import { NOT_BYTES } from '../vectors/junk.ts'

const Point = ed25519.Point
const L = Point.Fn.ORDER
/** noble's strict verification, straight from the library (no memo). */
const strict = (sig: Uint8Array, msg: Uint8Array, key: Uint8Array): boolean => {
  try { return ed25519.verify(sig, msg, key, { zip215: false }) } catch { return false }
}
const challenge = (r: Uint8Array, a: Uint8Array, msg: Uint8Array): bigint => bytesToNumberLE(sha512(concat(r, a, msg))) % L

describe('native Ed25519', () => {
  it('is available in Node 20 and passes its known-answer check', async () => {
    expect(await nativeEd25519()).toBe(true)
  })

  for (const v of RFC8032_ED25519) {
    it(`RFC 8032 §7.1 ${v.name}: same signature, same verdicts`, async () => {
      forgetVerifications()
      const id = identityFromSeed(fromHex(v.secret))
      const msg = fromHex(v.message)
      expect(toHex(await signAsync(id, msg))).toBe(v.signature)
      forgetVerifications()
      expect(await verifySignatureAsync(fromHex(v.signature), msg, id.publicKey)).toBe(true)
      const bad = fromHex(v.signature)
      bad[0] = bad[0]! ^ 1
      expect(await verifySignatureAsync(bad, msg, id.publicKey)).toBe(false)
    })
  }

  it('derives each RFC 8032 §7.1 public key, and noble\'s for random seeds (identityFromSeedAsync)', async () => {
    for (const v of RFC8032_ED25519) expect(toHex((await nativePublicKey(fromHex(v.secret)))!)).toBe(v.publicKey)
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async seed => {
      const id = await identityFromSeedAsync(seed)
      expect(id.publicKey).toEqual(ed25519.getPublicKey(seed))
      expect(id.seed).toEqual(seed)
    }), { numRuns: 50 })
    await expect(identityFromSeedAsync(new Uint8Array(31))).rejects.toThrow(/32 bytes/)
  })

  it('property: signAsync gives sign\'s bytes; verifySignatureAsync gives noble\'s answer on valid and flipped inputs', async () => {
    await fc.assert(fc.asyncProperty(
      fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 }),
      async (seed, msg, at, bit) => {
        const id = identityFromSeed(seed)
        const sig = await signAsync(id, msg)
        expect(sig).toEqual(ed25519.sign(msg, seed))
        forgetVerifications()
        expect(await verifySignatureAsync(sig, msg, id.publicKey)).toBe(true)
        const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[at % c.length] = c[at % c.length]! ^ (1 << bit); return c }
        for (const [s, m, k] of [[flip(sig), msg, id.publicKey], [sig, flip(msg), id.publicKey], [sig, msg, flip(id.publicKey)]] as const) {
          expect(await verifySignatureAsync(s, m, k)).toBe(strict(s, m, k))
        }
      }
    ), { numRuns: 100 })
  })

  it('accepts, as noble does, a signature that holds only under the cofactored equation (R with a torsion part)', async () => {
    // A point of order 8 (libsodium's list of small-order encodings).
    const t8 = Point.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))
    expect(t8.isSmallOrder() && !t8.is0()).toBe(true)
    const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(new Uint8Array(32).fill(9))
    const msg = new Uint8Array([4, 5, 6])
    const r = 123456789n
    const R = Point.BASE.multiply(r).add(t8).toBytes()
    const S = (r + challenge(R, A, msg) * a) % L
    const sig = concat(R, numberToBytesLE(S, 32))
    expect(strict(sig, msg, A)).toBe(true)
    forgetVerifications()
    expect(await verifySignatureAsync(sig, msg, A)).toBe(true)
  })

  it('refuses, as noble does, the identity point as a key even where the plain equation holds', async () => {
    const A = Point.ZERO.toBytes()
    const msg = new Uint8Array([1])
    // [1]B − [k]·0 = B: the cofactorless check alone would accept R = B, S = 1.
    const sig = concat(Point.BASE.toBytes(), numberToBytesLE(1n, 32))
    expect(strict(sig, msg, A)).toBe(false)
    expect(await verifySignatureAsync(sig, msg, A)).toBe(false)
  })

  it('refuses s ≥ L and non-canonical R, as noble does', async () => {
    const id = identityFromSeed(new Uint8Array(32).fill(5))
    const msg = new Uint8Array([7, 7])
    const sig = sign(id, msg)
    const s = bytesToNumberLE(sig.subarray(32))
    const highS = concat(sig.subarray(0, 32), numberToBytesLE(s + L, 32))
    expect(strict(highS, msg, id.publicKey)).toBe(false)
    expect(await verifySignatureAsync(highS, msg, id.publicKey)).toBe(false)
    // y = 1 with the sign bit set: x = 0 cannot carry it.
    const negZero = concat(fromHex('0100000000000000000000000000000000000000000000000000000000000080'), sig.subarray(32))
    expect(await verifySignatureAsync(negZero, msg, id.publicKey)).toBe(strict(negZero, msg, id.publicKey))
    const zeroS = concat(sig.subarray(0, 32), new Uint8Array(32))
    expect(await verifySignatureAsync(zeroS, msg, id.publicKey)).toBe(strict(zeroS, msg, id.publicKey))
  })

  it('returns false, never throws, on hostile input', async () => {
    const id = identityFromSeed(new Uint8Array(32).fill(6))
    const msg = new Uint8Array([1, 2, 3])
    const sig = sign(id, msg)
    for (const junk of [...NOT_BYTES, new Uint8Array(0), new Uint8Array(63), new Uint8Array(65)]) {
      expect(await verifySignatureAsync(junk as Uint8Array, msg, id.publicKey)).toBe(false)
      expect(await verifySignatureAsync(sig, junk as Uint8Array, id.publicKey)).toBe(false)
      expect(await verifySignatureAsync(sig, msg, junk as Uint8Array)).toBe(false)
    }
    expect(await verifySignatureAsync(sig, msg, new Uint8Array(32))).toBe(false)
    expect(await verifySignatureAsync(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false)
  })

  it('a native success is remembered: the synchronous check of the same bytes agrees', async () => {
    const seed = new Uint8Array(32).fill(8)
    const msg = new Uint8Array([9, 9, 9])
    const sig = ed25519.sign(msg, seed)
    const key = ed25519.getPublicKey(seed)
    forgetVerifications()
    expect(await verifySignatureAsync(sig, msg, key)).toBe(true)
    expect(verifySignature(sig, msg, key)).toBe(true)
    expect(verifySignature(sig, concat(msg, new Uint8Array([0])), key)).toBe(false)
  })
})
