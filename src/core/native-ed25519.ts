/**
 * Ed25519 through the platform's WebCrypto (`crypto.subtle`: native code in
 * Chromium, Firefox, Safari and Node ≥ 18.4), twenty or so times faster than
 * pure-JS @noble/curves, but only asynchronous. identity.ts stays the
 * reference: this module is used only when it gives the same answers.
 *
 * - Signing: Ed25519 is deterministic (RFC 8032 §5.1.6), so a native
 *   signature is byte for byte noble's. Before any use, a known-answer check
 *   signs RFC 8032 §7.1 TEST 2 and must produce its published signature.
 * - Verifying: identity.ts verifies strictly (noble, `zip215: false`:
 *   canonical encodings, no small-order key, cofactored equation). Native
 *   verifiers differ in the corners (BoringSSL and OpenSSL check the
 *   cofactorless equation and may decode a non-canonical key). So a native
 *   `true` is trusted only where it implies noble's `true`: the key decodes
 *   strictly and is not of small order (checked with noble once per key and
 *   kept), R is a canonical encoding and 0 < S < L (byte checks). Then
 *   either equation holding means noble's holds. Every other case, and every
 *   native `false`, is left to noble, so the answer is always noble's.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesEqual, fromBase64, fromHex } from './bytes.ts'

/** RFC 8032 §7.1 TEST 2: secret key, public key, message 0x72, signature. */
const KAT = {
  seed: fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'),
  publicKey: fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'),
  msg: fromHex('72'),
  sig: fromHex('92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00')
}

/** DER prefix of a PKCS #8 Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')
const ALGORITHM = { name: 'Ed25519' }
/** Public keys kept imported (peers of one swarm; the oldest is dropped past this). */
const KEYS_MAX = 1024

/** The group order L (RFC 8032 §5.1), little-endian as S is encoded. */
const L_LE = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
/** p = 2^255 − 19, little-endian: a canonical point encoding has y < p. */
const P_LE = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')

let support: Promise<boolean> | undefined
const signKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()
/** Per public key (latin1 string of its bytes): its imported key, or undefined if noble refuses the key. */
const verifyKeys = new Map<string, Promise<CryptoKey> | undefined>()

function subtle (): SubtleCrypto | undefined {
  return (globalThis as { crypto?: Crypto }).crypto?.subtle
}

/** `a < b` for two little-endian numbers of 32 bytes. */
function lessLE (a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/** 1 and p − 1, little-endian: the y of the two points with x = 0. */
const ONE_LE = fromHex('0100000000000000000000000000000000000000000000000000000000000000')
const P_MINUS_1_LE = fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')

/**
 * Whether `e` is a point encoding strict decoding could accept: y < p, and
 * not x = 0 with the sign bit set (RFC 8032 §5.1.3 step 4). Whether y is on
 * the curve is left to the verifier.
 */
function canonicalEncoding (e: Uint8Array): boolean {
  const y = Uint8Array.from(e)
  y[31]! &= 0x7f
  if (!lessLE(y, P_LE)) return false
  const signBit = (e[31]! & 0x80) !== 0
  return !(signBit && (y.every((b, i) => b === ONE_LE[i]) || y.every((b, i) => b === P_MINUS_1_LE[i])))
}

/** A view the WebCrypto types accept (the bytes are not copied). */
function buf (b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>
}

function pkcs8Of (seed: Uint8Array): Uint8Array<ArrayBuffer> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32)
  pkcs8.set(PKCS8_PREFIX)
  pkcs8.set(seed, PKCS8_PREFIX.length)
  return pkcs8
}

function importSign (seed: Uint8Array): Promise<CryptoKey> {
  let key = signKeys.get(seed)
  if (key === undefined) {
    key = subtle()!.importKey('pkcs8', pkcs8Of(seed), ALGORITHM, false, ['sign'])
    signKeys.set(seed, key)
  }
  return key
}

/** The imported key, or undefined if noble would refuse `publicKey` (non-canonical, not on the curve, small order). */
function importVerify (publicKey: Uint8Array): Promise<CryptoKey> | undefined {
  let id = ''
  for (const b of publicKey) id += String.fromCharCode(b)
  if (verifyKeys.has(id)) return verifyKeys.get(id)
  let key: Promise<CryptoKey> | undefined
  try {
    const strict = ed25519.Point.fromBytes(publicKey, false)
    if (!strict.isSmallOrder()) key = subtle()!.importKey('raw', buf(Uint8Array.from(publicKey)), ALGORITHM, false, ['verify'])
  } catch {
    key = undefined
  }
  if (verifyKeys.size >= KEYS_MAX) verifyKeys.delete(verifyKeys.keys().next().value!)
  verifyKeys.set(id, key)
  return key
}

/** Whether native Ed25519 is here and passes the known-answer check (decided once). */
export async function nativeEd25519 (): Promise<boolean> {
  support ??= (async () => {
    if (subtle() === undefined) return false
    try {
      const sig = await nativeSignWith(KAT.seed, KAT.msg)
      if (sig.length !== KAT.sig.length || sig.some((b, i) => b !== KAT.sig[i])) return false
      const key = importVerify(KAT.publicKey)
      if (key === undefined) return false
      const bad = Uint8Array.from(KAT.sig)
      bad[0]! ^= 1
      return await subtle()!.verify(ALGORITHM, await key, buf(KAT.sig), buf(KAT.msg)) &&
        !await subtle()!.verify(ALGORITHM, await key, buf(bad), buf(KAT.msg))
    } catch {
      return false
    }
  })()
  return await support
}

async function nativeSignWith (seed: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle()!.sign(ALGORITHM, await importSign(seed), buf(msg)))
}

/**
 * The native signature of `msg` under `seed`, or undefined when native
 * Ed25519 is missing or failed its check. `seed` must be a 32-byte seed held
 * by the caller for as long as it signs (the imported key is kept per array).
 */
export async function nativeSign (seed: Uint8Array, msg: Uint8Array): Promise<Uint8Array | undefined> {
  if (!await nativeEd25519()) return undefined
  try {
    return await nativeSignWith(seed, msg)
  } catch {
    return undefined
  }
}

/** The signature of `msg` by a private key held by the platform (a non-extractable CryptoKey). */
export async function nativeSignWithKey (key: CryptoKey, msg: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle()!.sign(ALGORITHM, key, buf(msg)))
}

/**
 * A new key pair made by the platform, its private key non-extractable (no
 * script can read it, this page's included), or undefined when native
 * Ed25519 is missing or failed its check.
 */
export async function nativeGenerateKey (): Promise<{ key: CryptoKey, publicKey: Uint8Array } | undefined> {
  if (!await nativeEd25519()) return undefined
  try {
    const pair = await subtle()!.generateKey(ALGORITHM, false, ['sign', 'verify']) as CryptoKeyPair
    return { key: pair.privateKey, publicKey: new Uint8Array(await subtle()!.exportKey('raw', pair.publicKey)) }
  } catch {
    return undefined
  }
}

/**
 * `seed` imported as a non-extractable private key, or undefined when native
 * Ed25519 is missing or failed its check. The key signs as the seed does.
 */
export async function nativeKeyOf (seed: Uint8Array): Promise<CryptoKey | undefined> {
  if (!await nativeEd25519()) return undefined
  try {
    return await subtle()!.importKey('pkcs8', pkcs8Of(seed), ALGORITHM, false, ['sign'])
  } catch {
    return undefined
  }
}

let publicSupport: Promise<boolean> | undefined

/** The public key the platform derives for `seed` (from the private key's JWK `x`). */
async function nativePublicKeyOf (seed: Uint8Array): Promise<Uint8Array | undefined> {
  const key = await subtle()!.importKey('pkcs8', pkcs8Of(seed), ALGORITHM, true, ['sign'])
  const { x } = await subtle()!.exportKey('jwk', key)
  if (typeof x !== 'string') return undefined
  // JWK is unpadded base64url (RFC 7515 §2); a 32-byte key is 43 characters.
  const key32 = fromBase64(x.replaceAll('-', '+').replaceAll('_', '/') + '=')
  return key32?.length === 32 ? key32 : undefined
}

/**
 * The public key of `seed` (RFC 8032 §5.1.5) from the platform's Ed25519, or
 * undefined when it has none, or its derivation fails the known-answer check
 * (RFC 8032 §7.1 TEST 2, once). It spares a page noble's one-off
 * precomputation, a few hundred ms of main thread while the page boots.
 */
export async function nativePublicKey (seed: Uint8Array): Promise<Uint8Array | undefined> {
  publicSupport ??= (async () => {
    if (!await nativeEd25519()) return false
    try {
      const derived = await nativePublicKeyOf(KAT.seed)
      return derived !== undefined && bytesEqual(derived, KAT.publicKey)
    } catch {
      return false
    }
  })()
  if (!await publicSupport) return undefined
  try {
    return await nativePublicKeyOf(seed)
  } catch {
    return undefined
  }
}

/**
 * True only if the native verifier accepts and strict noble verification
 * would accept too (see the file header); false means "ask noble", not
 * "invalid". Inputs must already have the right types and lengths.
 */
export async function nativeVerifies (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!await nativeEd25519()) return false
  const r = sig.subarray(0, 32)
  const s = sig.subarray(32, 64)
  if (!canonicalEncoding(r) || !lessLE(s, L_LE) || s.every(b => b === 0)) return false
  const key = importVerify(publicKey)
  if (key === undefined) return false
  try {
    return await subtle()!.verify(ALGORITHM, await key, buf(sig), buf(msg))
  } catch {
    return false
  }
}
