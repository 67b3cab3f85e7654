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

/** What a named error can carry besides its message: a {@link ErrorInfo} `code` and its `params`. */
export interface CodedErrorOptions<C extends string = string> extends ErrorOptions { code?: C, params?: ErrorParams }

/** A named error with a human message and, for some, a code and parameters a UI words (core and compute errors extend it). */
export abstract class CodedError extends Error {
  abstract override readonly name: string
  readonly code?: string
  readonly params?: ErrorParams

  constructor (message?: string, options?: CodedErrorOptions) {
    super(message, options)
    if (options?.code !== undefined) this.code = options.code
    if (options?.params !== undefined) this.params = options.params
  }
}

/** Base class of every error `src/core` raises. */
export abstract class CoreError extends CodedError {}

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

/** Every {@link BundleFormatError} code: how a file is not a receipt file or bundle. */
export const BUNDLE_FORMAT_CODES = ['not-text', 'too-large', 'not-json', 'not-object', 'format', 'unknown-field', 'missing-field', 'not-list', 'too-many', 'not-base64'] as const

/** A receipt file or bundle is not JSON, or not in the `essaim-receipts/1` format (receipt-bundle.ts). */
export class BundleFormatError extends CoreError {
  override readonly name = 'BundleFormatError' as const
  declare readonly code?: typeof BUNDLE_FORMAT_CODES[number]

  constructor (message: string, options?: CodedErrorOptions<typeof BUNDLE_FORMAT_CODES[number]>) {
    super(message, options)
  }
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

/** Parameters of an error a UI can put into its own sentence (file names, sizes, limits). */
export type ErrorParams = Record<string, string | number>

/**
 * An error as plain data: what crosses `postMessage`, sits in UI state and
 * is shown to users. `name` and `message` are the class name and its English
 * message (for logs and as the detail of an unknown error); `code` picks one
 * case of a class that has several (e.g. BadInputError's `not-image`), and
 * `params` are the values a UI puts in its own words for that case. No
 * layer below the UI builds sentences for users from these.
 */
export interface ErrorInfo { name: string, message: string, code?: string, params?: ErrorParams }

/**
 * The {@link ErrorInfo} of any thrown value. Parameters are the error's own
 * string and number fields (e.g. BlobTooLargeError's `peer`, `size` and
 * `limit`) together with its `params`, if it has them. An error event thrown
 * as it is (a WebRTC data channel's, through libp2p) gives its error, or its type.
 */
export function errorInfo (err: unknown): ErrorInfo {
  if (typeof err !== 'object' || err === null) return { name: 'Error', message: String(err) }
  const e = err as { name?: unknown, message?: unknown, code?: unknown, params?: unknown, type?: unknown, error?: unknown }
  if (typeof e.message !== 'string' && typeof e.type === 'string') {
    return typeof e.error === 'object' && e.error !== null ? errorInfo(e.error) : { name: 'Error', message: `${e.type} event` }
  }
  const info: ErrorInfo = { name: typeof e.name === 'string' && e.name !== '' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(err) }
  if (typeof e.code === 'string') info.code = e.code
  const params: ErrorParams = {}
  for (const [key, value] of Object.entries(err)) {
    if (key !== 'name' && key !== 'message' && key !== 'code' && (typeof value === 'string' || typeof value === 'number')) params[key] = value
  }
  if (typeof e.params === 'object' && e.params !== null) {
    for (const [key, value] of Object.entries(e.params)) if (typeof value === 'string' || typeof value === 'number') params[key] = value
  }
  if (Object.keys(params).length > 0) info.params = params
  return info
}

/** "Name: message", the one-line form of an error for logs, protocol frames and the raw detail under a worded one. */
export function errorLine (err: ErrorInfo): string {
  return `${err.name}: ${err.message}`
}
