/**
 * Canonical bytes for everything that is hashed or signed: deterministic CBOR
 * as in RFC 8949 §4.2.1 ("core deterministic encoding": shortest integer and
 * length forms, definite lengths, map keys sorted bytewise by their encoding,
 * shortest float that keeps the value), produced by cborg with its
 * `rfc8949EncodeOptions`.
 *
 * Decoding is the attack surface, so it is strict and bounded:
 * - a hard byte cap checked before any parsing;
 * - cborg `strict` (shortest ints and lengths), no indefinite lengths, no
 *   undefined/NaN/Infinity/bigint, no tags, no duplicate map keys, string keys only;
 * - a nesting-depth limit enforced by a counting tokenizer, so hostile input
 *   cannot exhaust the stack;
 * - cborg never allocates from a declared length: byte/text strings are
 *   checked against the remaining input, arrays grow element by element;
 * - finally the value is re-encoded and must equal the input byte for byte.
 *   That catches what cborg cannot check while decoding (map key order,
 *   float width), so exactly one byte string decodes to a given value.
 */
import { decode, encode, rfc8949EncodeOptions, Tokenizer, Type } from 'cborg'
import type { DecodeOptions, Token } from 'cborg'
import { bytesEqual } from './bytes.ts'
import { InvalidEnvelopeError, OversizedError } from './errors.ts'

/** Deepest nesting of arrays/maps accepted on decode (our schemas use at most 5). */
export const MAX_CBOR_DEPTH = 16

const decodeOptions: DecodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: []
}

/**
 * Deterministic CBOR (RFC 8949 §4.2.1) of a plain value: objects with string
 * keys, arrays, strings, Uint8Array, safe integers, finite floats, booleans, null.
 * @throws {Error} (from cborg) on values CBOR cannot carry here, e.g. undefined or functions.
 */
export function encodeCanonical (value: unknown): Uint8Array {
  return plain(encode(value, rfc8949EncodeOptions))
}

/**
 * cborg hands out Node `Buffer`s under Node (sometimes views into a shared
 * pool) and plain Uint8Arrays in browsers. Core returns and keeps plain,
 * owned Uint8Arrays everywhere so behaviour is the same on both.
 */
function plain (bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes)
}

/** Result of {@link decodeCanonical}: a value, or why the bytes were refused. */
export type DecodeResult =
  | { ok: true, value: unknown }
  | { ok: false, error: InvalidEnvelopeError | OversizedError }

/**
 * Decodes `bytes` that must be the canonical encoding of one value, at most
 * `maxBytes` long. Never throws.
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return { ok: false, error: new InvalidEnvelopeError('input is not a Uint8Array') }
  if (bytes.length > maxBytes) return { ok: false, error: new OversizedError(`${bytes.length} bytes exceeds the cap of ${maxBytes}`) }
  // A plain view (not a Buffer) so the byte strings cborg slices out are copies, never views into `bytes`.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let value: unknown
  try {
    value = decode(view, { ...decodeOptions, tokenizer: new DepthLimitedTokenizer(view) })
  } catch (err) {
    return { ok: false, error: new InvalidEnvelopeError(`malformed CBOR: ${describe(err)}`) }
  }
  let again: Uint8Array
  try {
    again = encodeCanonical(value)
  } catch (err) {
    return { ok: false, error: new InvalidEnvelopeError(`undecodable value: ${describe(err)}`) }
  }
  if (!bytesEqual(again, bytes)) return { ok: false, error: new InvalidEnvelopeError('not canonical CBOR (RFC 8949 §4.2.1)') }
  return { ok: true, value }
}

function describe (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/^CBOR decode error: /, '').slice(0, 200)
}

/**
 * cborg's tokenizer plus a stack of how many items each open container still
 * holds; deeper than MAX_CBOR_DEPTH → throw (caught by decodeCanonical).
 */
class DepthLimitedTokenizer extends Tokenizer {
  private readonly open: number[] = []

  constructor (data: Uint8Array) {
    super(data, decodeOptions)
  }

  override next (): Token {
    const token = super.next()
    const top = this.open.length - 1
    if (top >= 0) {
      this.open[top]!--
      while (this.open.length > 0 && this.open[this.open.length - 1] === 0) this.open.pop()
    }
    const isArray = Type.equals(token.type, Type.array)
    if ((isArray || Type.equals(token.type, Type.map)) && token.value > 0) {
      this.open.push(isArray ? token.value : token.value * 2)
      if (this.open.length > MAX_CBOR_DEPTH) throw new Error(`nesting deeper than ${MAX_CBOR_DEPTH}`)
    }
    return token
  }
}
