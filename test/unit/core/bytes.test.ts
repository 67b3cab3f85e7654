import { afterEach, describe, expect, it, vi } from 'vitest'
import { fromHex, sha256, sha256Async, sha256Hex, toHex } from '../../../src/core/bytes.ts'

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'

function pseudoRandom (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

describe('sha256Async', () => {
  afterEach(() => { vi.unstubAllGlobals() })

  it('gives the FIPS 180-4 digest of "abc"', async () => {
    expect(toHex(await sha256Async(new TextEncoder().encode('abc')))).toBe(ABC)
  })

  it('agrees with the synchronous sha256 from 0 bytes to 1 MiB', async () => {
    for (const n of [0, 1, 55, 56, 64, 1000, 200_704, 1 << 20]) {
      const data = pseudoRandom(n, n + 1)
      expect(toHex(await sha256Async(data)), `${n} bytes`).toBe(toHex(sha256(data)))
    }
  })

  it('hashes only the bytes a view covers, not its whole buffer', async () => {
    const whole = pseudoRandom(4096, 7)
    const view = whole.subarray(100, 3000)
    expect(toHex(await sha256Async(view))).toBe(toHex(sha256(whole.slice(100, 3000))))
  })

  it('hashes a view of shared memory (which WebCrypto refuses) with the same result', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(1000))
    shared.set(pseudoRandom(1000, 3))
    expect(toHex(await sha256Async(shared))).toBe(toHex(sha256(shared.slice())))
  })

  it('gives the digest as lowercase hex through sha256Hex', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(ABC)
    const data = pseudoRandom(5000, 11)
    expect(await sha256Hex(data)).toBe(toHex(sha256(data)))
  })

  it('falls back to the JS digest where there is no WebCrypto', async () => {
    vi.stubGlobal('crypto', undefined)
    expect(globalThis.crypto).toBeUndefined()
    expect(toHex(await sha256Async(new TextEncoder().encode('abc')))).toBe(ABC)
  })
})

describe('toHex', () => {
  it('gives two lowercase digits per byte for every byte value, and fromHex takes them back', () => {
    const all = Uint8Array.from({ length: 256 }, (_x, i) => i)
    const hex = toHex(all)
    expect(hex).toBe([...all].map(b => b.toString(16).padStart(2, '0')).join(''))
    expect(fromHex(hex)).toEqual(all)
    expect(toHex(new Uint8Array(0))).toBe('')
    // A view into a larger buffer: only its own bytes.
    expect(toHex(all.subarray(254))).toBe('feff')
  })
})
