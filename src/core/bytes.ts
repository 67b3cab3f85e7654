/**
 * The handful of byte helpers core needs, over @noble/hashes so there is one
 * SHA-256 and one hex codec in the app. Deliberately small: anything that is
 * not about raw bytes belongs in its own file.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'

/** Lowercase hex of `bytes`. */
export function toHex (bytes: Uint8Array): string {
  return bytesToHex(bytes)
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

/** UTF-8 bytes of a string. */
export function utf8 (s: string): Uint8Array {
  return new TextEncoder().encode(s)
}
