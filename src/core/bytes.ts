/**
 * The handful of byte helpers core needs, over @noble/hashes so there is one
 * SHA-256 and one hex codec in the app. Deliberately small: anything that is
 * not about raw bytes belongs in its own file.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'

/** Whether the platform has `Uint8Array.prototype.toHex` (Chromium does; Node 20 does not). */
const HEX_BUILTIN = typeof (Uint8Array.prototype as { toHex?: unknown }).toHex === 'function'
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef')
const ASCII = new TextDecoder('latin1')

/**
 * Lowercase hex of `bytes`. Without the platform's own, a flat string made
 * in one piece: noble's fallback appends two characters at a time, and V8
 * keeps such a string as a chain of ~30 pieces, ~1 KiB for a 32-byte hash
 * held in a map (as the ledger holds thousands).
 */
export function toHex (bytes: Uint8Array): string {
  if (HEX_BUILTIN) return bytesToHex(bytes)
  const out = new Uint8Array(bytes.length * 2)
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!
    out[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!
  }
  return ASCII.decode(out)
}

/**
 * Bytes from lowercase or uppercase hex.
 * @throws {Error} when `hex` has odd length or a non-hex character (use {@link isHex} on untrusted input).
 */
export function fromHex (hex: string): Uint8Array {
  return hexToBytes(hex)
}

/** True when `s` is lowercase hex, optionally of exactly `bytes` bytes. Never throws. */
export function isHex (s: unknown, bytes?: number): s is string {
  if (typeof s !== 'string') return false
  if (bytes !== undefined && s.length !== bytes * 2) return false
  return s.length % 2 === 0 && /^[0-9a-f]*$/.test(s)
}

/** Byte-wise equality; false for anything that is not two Uint8Arrays. Not constant-time (inputs here are public). */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic byte order (-1, 0, 1), for deterministic sorting. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

/** One new array holding all parts in order. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts)
}

/** SHA-256 (FIPS 180-4). */
export function sha256 (data: Uint8Array): Uint8Array {
  return nobleSha256(data)
}

/**
 * The same SHA-256 by the platform's WebCrypto where it can take the bytes:
 * native code, ~10× cheaper than JS on a 200 KB shard and, in a browser, not
 * on the calling thread. @noble/hashes otherwise (no WebCrypto, or a view of
 * shared memory, which WebCrypto refuses).
 */
export async function sha256Async (data: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined || !(data.buffer instanceof ArrayBuffer)) return nobleSha256(data)
  return new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}

/** Lowercase hex of {@link sha256Async}: model and blob digests (100 MB models hash natively where they can). */
export async function sha256Hex (data: Uint8Array): Promise<string> {
  return toHex(await sha256Async(data))
}

/** UTF-8 bytes of a string. */
export function utf8 (s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]))

/** Standard padded base64 (RFC 4648 §4) of `bytes`. */
export function toBase64 (bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=')
  }
  return out
}

/**
 * Bytes of canonical padded base64 (RFC 4648 §4, §3.5: unused bits zero), or
 * undefined for anything else (whitespace, URL alphabet, bad padding, not a
 * string). Exactly one string decodes to given bytes. Never throws.
 */
export function fromBase64 (s: unknown): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0) return undefined
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0
  const out = new Uint8Array((s.length / 4) * 3 - pad)
  let o = 0
  for (let i = 0; i < s.length; i += 4) {
    let n = 0
    for (let j = 0; j < 4; j++) {
      const c = s[i + j]!
      const last = i + 4 === s.length
      const v = c === '=' && last && j >= 4 - pad ? 0 : B64_INDEX.get(c)
      if (v === undefined) return undefined
      n = (n << 6) | v
    }
    out[o++] = n >> 16
    if (o < out.length) out[o++] = (n >> 8) & 255
    if (o < out.length) out[o++] = n & 255
  }
  return toBase64(out) === s ? out : undefined
}
