/**
 * A peer's identity is one Ed25519 key pair (RFC 8032). The same key is the
 * libp2p peer key (src/net/node.ts `libp2pKey`), so a signature in an
 * envelope and the peer id on the wire name the same party. Pure
 * @noble/curves plus the platform's WebCrypto: no libp2p import here, so core
 * stays usable by offline checkers.
 *
 * The private key is held one of two ways. In a browser with native Ed25519
 * it is a non-extractable CryptoKey (DESIGN.md "Security rules": stored
 * non-exportable where the platform allows): no script can read it, and it
 * signs only asynchronously, through `signAsync`. Elsewhere (Node tools and
 * tests, a browser without native Ed25519) it is its 32-byte seed, which the
 * synchronous `sign` needs.
 *
 * Verification is strict RFC 8032 (`zip215: false`): non-canonical point
 * encodings and small-order public keys are refused, so one message has one
 * valid signer and a signature cannot be bent to another key.
 *
 * `signAsync` and `verifySignatureAsync` give the same answers through the
 * platform's native Ed25519 where it has one (native-ed25519.ts), about
 * twenty times faster; the synchronous functions are pure noble.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidKeyError } from './errors.ts'
import { nativeGenerateKey, nativeKeyOf, nativePublicKey, nativeSign, nativeSignWithKey, nativeVerifies } from './native-ed25519.ts'

/** An Ed25519 identity: its public key, and its private key as a seed or as a platform key. */
export interface Identity {
  /** 32-byte Ed25519 public key (RFC 8032 §5.1.5). */
  publicKey: Uint8Array
  /** 32-byte Ed25519 secret seed (RFC 8032 §5.1.5 "private key"), when the key is held as bytes. Private: never log it, never send it. */
  seed?: Uint8Array
  /** The private key as a non-extractable WebCrypto key, when the platform holds it: it signs only through {@link signAsync}. */
  key?: CryptoKey
}

/** An identity whose private key is held as its seed (Node tools and tests, a platform without native Ed25519). */
export interface SeedIdentity extends Identity {
  seed: Uint8Array
}

export const SEED_BYTES = 32
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

/** A fresh identity from the platform CSPRNG (`crypto.getRandomValues`). */
export function generateIdentity (): SeedIdentity {
  return identityFromSeed(randomSeed())
}

/** A fresh 32-byte seed from the platform CSPRNG. */
export function randomSeed (): Uint8Array {
  return ed25519.utils.randomSecretKey()
}

/**
 * The identity for a known seed (deterministic; RFC 8032 §5.1.5).
 * @throws {InvalidKeyError} if `seed` is not a 32-byte Uint8Array.
 */
export function identityFromSeed (seed: Uint8Array): SeedIdentity {
  const copy = seedCopy(seed)
  const identity = { seed: copy, publicKey: ed25519.getPublicKey(copy) }
  derived.add(identity)
  return identity
}

/** A copy of `seed`, once it is known to be 32 bytes. @throws {InvalidKeyError} otherwise. */
function seedCopy (seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new InvalidKeyError(`seed must be ${SEED_BYTES} bytes`)
  }
  return Uint8Array.from(seed)
}

/**
 * {@link identityFromSeed} with the public key derived by the platform's
 * native Ed25519 where it passes its known-answer check (the same key, without
 * noble's one-off precomputation while a page boots), else by noble.
 * @throws {InvalidKeyError} if `seed` is not a 32-byte Uint8Array.
 */
export async function identityFromSeedAsync (seed: Uint8Array): Promise<SeedIdentity> {
  const copy = seedCopy(seed)
  const publicKey = await nativePublicKey(copy)
  if (publicKey === undefined) return identityFromSeed(copy)
  const identity = { seed: copy, publicKey }
  derived.add(identity)
  return identity
}

/**
 * A fresh identity whose private key the platform holds, non-extractable,
 * or undefined where there is no native Ed25519 (then use a seed).
 */
export async function generatePlatformIdentity (): Promise<Identity | undefined> {
  const made = await nativeGenerateKey()
  return made === undefined ? undefined : await identityFromKey(made.key, made.publicKey)
}

/**
 * The identity of `seed` with its private key moved into the platform: a
 * non-extractable key that signs the same (the caller then forgets the
 * seed), or undefined where there is no native Ed25519.
 * @throws {InvalidKeyError} if `seed` is not a 32-byte Uint8Array.
 */
export async function platformIdentityFromSeed (seed: Uint8Array): Promise<Identity | undefined> {
  const copy = seedCopy(seed)
  const [key, publicKey] = await Promise.all([nativeKeyOf(copy), nativePublicKey(copy)])
  return key === undefined || publicKey === undefined ? undefined : await identityFromKey(key, publicKey)
}

/** A message no envelope can be (envelopes are signed over a domain tag): what {@link identityFromKey} signs to check a key. */
const KEY_CHECK = new TextEncoder().encode('essaim/key-check')

/**
 * The identity of a private key the platform holds (as stored by a browser
 * profile), after checking that it is an Ed25519 signing key and that its
 * signature verifies under `publicKey`: a damaged or mismatched pair is
 * refused here rather than signing messages nobody accepts.
 * @throws {InvalidKeyError} if the key or the public key is not usable, or they do not match.
 */
export async function identityFromKey (key: CryptoKey, publicKey: Uint8Array): Promise<Identity> {
  if (typeof CryptoKey === 'undefined' || !(key instanceof CryptoKey) || key.type !== 'private' ||
    key.algorithm.name !== 'Ed25519' || !key.usages.includes('sign')) {
    throw new InvalidKeyError('not an Ed25519 private key')
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new InvalidKeyError(`public key must be ${PUBLIC_KEY_BYTES} bytes`)
  }
  let sig: Uint8Array
  try {
    sig = await nativeSignWithKey(key, KEY_CHECK)
  } catch (err) {
    throw new InvalidKeyError(`the key does not sign: ${(err as Error).message}`)
  }
  const identity = { key, publicKey: Uint8Array.from(publicKey) }
  if (!await verifySignatureAsync(sig, KEY_CHECK, identity.publicKey)) throw new InvalidKeyError('the key does not match its public key')
  derived.add(identity)
  return identity
}

/** Identities made here, whose public key is known to be their private key's (and so never of small order). */
const derived = new WeakSet<Identity>()

/**
 * Ed25519 signature (64 bytes) of `msg` (RFC 8032 §5.1.6). Callers sign
 * domain-separated bytes (see envelope.ts), never raw bodies.
 * @throws {InvalidKeyError} if the identity's seed is malformed, or its key is held by the platform (use {@link signAsync}).
 */
export function sign (identity: Identity, msg: Uint8Array): Uint8Array {
  if (platformKey(identity) !== undefined) {
    throw new InvalidKeyError('this key is held by the platform and signs only asynchronously (signAsync)')
  }
  const seed = checkedSeed(identity)
  const sig = ed25519.sign(msg, seed)
  rememberOwn(identity, sig, msg)
  return sig
}

/**
 * {@link sign} on the platform's native Ed25519 when it has one (the same
 * bytes: Ed25519 is deterministic), else noble; the one way to sign with a
 * key the platform holds.
 * @throws {InvalidKeyError} if the identity's seed is malformed.
 */
export async function signAsync (identity: Identity, msg: Uint8Array): Promise<Uint8Array> {
  let sig: Uint8Array | undefined
  const key = platformKey(identity)
  if (key !== undefined) {
    sig = await nativeSignWithKey(key, msg)
  } else {
    sig = await nativeSign(checkedSeed(identity), msg)
    if (sig === undefined) return sign(identity, msg)
  }
  rememberOwn(identity, sig, msg)
  return sig
}

/** The platform-held key of an identity that has no seed (one with both signs with its seed). */
function platformKey (identity: Identity): CryptoKey | undefined {
  return identity?.seed === undefined ? identity?.key : undefined
}

function checkedSeed (identity: Identity): Uint8Array {
  const seed = identity?.seed
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new InvalidKeyError(`seed must be ${SEED_BYTES} bytes`)
  }
  return seed
}

/**
 * A signature just made with a key pair from {@link identityFromSeed}
 * verifies (its public key is its seed's, hence never of small order, and
 * Ed25519 signing is deterministic): a requester checks the receipts it
 * seals, and its own verdicts inside them, and need not pay for that again.
 * A hand-made Identity, whose public key may not match its seed, is not
 * taken on trust.
 */
function rememberOwn (identity: Identity, sig: Uint8Array, msg: Uint8Array): void {
  if (derived.has(identity)) remember(verifiedKey(sig, msg, identity.publicKey))
}

/**
 * True iff `sig` is a valid strict RFC 8032 Ed25519 signature of `msg` by
 * `publicKey`. Returns false (never throws) for any hostile input: wrong
 * types or lengths, non-canonical encodings, small-order keys.
 */
export function verifySignature (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean {
  if (!wellTyped(sig, msg, publicKey)) return false
  const key = verifiedKey(sig, msg, publicKey)
  if (verified.has(key)) return true
  return verifyNoble(sig, msg, publicKey, key)
}

/**
 * {@link verifySignature}, with the same answer for every input, on the
 * platform's native Ed25519 where that answer can be had from it (see
 * native-ed25519.ts); noble decides every other case. A success is
 * remembered, so a synchronous check of the same bytes afterwards is free.
 */
export async function verifySignatureAsync (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!wellTyped(sig, msg, publicKey)) return false
  const key = verifiedKey(sig, msg, publicKey)
  if (verified.has(key)) return true
  if (await nativeVerifies(sig, msg, publicKey)) {
    remember(key)
    return true
  }
  return verifyNoble(sig, msg, publicKey, key)
}

function wellTyped (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean {
  return sig instanceof Uint8Array && sig.length === SIGNATURE_BYTES && msg instanceof Uint8Array &&
    publicKey instanceof Uint8Array && publicKey.length === PUBLIC_KEY_BYTES
}

function verifyNoble (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array, key: string): boolean {
  let ok: boolean
  try {
    ok = ed25519.verify(sig, msg, publicKey, { zip215: false })
  } catch {
    return false
  }
  if (ok) remember(key)
  return ok
}

/**
 * Signatures that verified, by SHA-256(publicKey ‖ sig ‖ msg): the same
 * signed message is checked several times on its way (a receipt by the
 * gossip validator, then by the ledger, its verdict and head again inside
 * every receipt of a batch), and one Ed25519 verification costs about a
 * thousand times the hash. Only successes are kept, under a key that
 * covers all three inputs in full, so an answer from here is the answer
 * `ed25519.verify` gave for exactly these bytes.
 */
const verified = new Set<string>()
const VERIFIED_MAX = 8192

/** Forgets every remembered verification, for tests and benchmarks that measure or exercise a fresh check. */
export function forgetVerifications (): void {
  verified.clear()
}

function verifiedKey (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): string {
  const h = sha256.create().update(publicKey).update(sig).update(msg).digest()
  let s = ''
  for (const b of h) s += String.fromCharCode(b)
  return s
}

function remember (key: string): void {
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.values().next().value!)
  verified.add(key)
}
