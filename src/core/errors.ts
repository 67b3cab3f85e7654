/**
 * Every way `src/core` refuses input, as named error classes (STYLE.md rule 4).
 *
 * Why classes with a literal `name`: callers match on `err.name`, which survives
 * `postMessage` and structured clone, and TypeScript narrows on it, so a
 * `switch (error.name)` over {@link OpenError} is exhaustive. Verifiers never
 * throw these at hostile input; they return them inside `{ ok: false, error }`.
 * They are thrown only by producers (`seal`, `identityFromSeed`, Merkle
 * builders) when the caller passed something it should not have: a programmer
 * error, not a network event.
 */

/** Base class: all core errors carry a stable `name` and a human message. */
export abstract class CoreError extends Error {
  abstract override readonly name: string
}

/** Bytes are not a well-formed envelope: not CBOR, not canonical, wrong shape, unknown kind. */
export class InvalidEnvelopeError extends CoreError {
  override readonly name = 'InvalidEnvelopeError' as const
}

/** The envelope's `v` is not a protocol version this code speaks. */
export class UnknownVersionError extends CoreError {
  override readonly name = 'UnknownVersionError' as const
}

/** Well-formed, but of a kind the caller did not ask for (e.g. a verdict on the presence topic). */
export class UnexpectedKindError extends CoreError {
  override readonly name = 'UnexpectedKindError' as const
}

/** Larger than the hard byte cap for its kind (or for any envelope). */
export class OversizedError extends CoreError {
  override readonly name = 'OversizedError' as const
}

/** The body does not match its kind's strict schema (missing, extra or out-of-range field). */
export class SchemaError extends CoreError {
  override readonly name = 'SchemaError' as const
}

/** The Ed25519 signature does not verify for the signer over the domain-separated bytes. */
export class BadSignatureError extends CoreError {
  override readonly name = 'BadSignatureError' as const
}

/** Signed timestamp older than the caller's `maxAgeMs`. */
export class StaleMessageError extends CoreError {
  override readonly name = 'StaleMessageError' as const
}

/** Signed timestamp further in the future than the caller's `maxFutureMs` (clock skew allowance). */
export class FutureMessageError extends CoreError {
  override readonly name = 'FutureMessageError' as const
}

/** Already seen: this signer already used this (or a later) sequence number for this kind. */
export class ReplayError extends CoreError {
  override readonly name = 'ReplayError' as const
}

/** A key or seed of the wrong length or type was handed to the identity API. */
export class InvalidKeyError extends CoreError {
  override readonly name = 'InvalidKeyError' as const
}

/** A Merkle inclusion or consistency proof does not verify, or a receipt's parts do not agree. */
export class InvalidProofError extends CoreError {
  override readonly name = 'InvalidProofError' as const
}

/** Two signed tree heads of one requester that cannot both be true (fork or rewrite of its log). */
export class ForkError extends CoreError {
  override readonly name = 'ForkError' as const
}

/** A receipt file or bundle is not JSON, or not in the `essaim-receipts/1` format (receipt-bundle.ts). */
export class BundleFormatError extends CoreError {
  override readonly name = 'BundleFormatError' as const
}

/** Everything `open()` can return instead of an envelope. Discriminate on `.name`. */
export type OpenError =
  | InvalidEnvelopeError
  | UnknownVersionError
  | UnexpectedKindError
  | OversizedError
  | SchemaError
  | BadSignatureError
  | StaleMessageError
  | FutureMessageError
  | ReplayError

/** The names of {@link OpenError}, for tests and logs. */
export type OpenErrorName = OpenError['name']
