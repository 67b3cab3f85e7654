/**
 * Canonical CBOR (src/core/cbor.ts) against RFC 8949 itself: the Appendix A
 * examples that a JavaScript value can carry (integer-valued floats such as
 * 1.0 are JS integers and encode as integers, so those rows are left out),
 * the §4.2.1 rules (preferred integer and float width, definite lengths, map
 * keys sorted bytewise by their encoding), and the decoder refusing every
 * other encoding of the same value, so exactly one byte string stands for it.
 */
import { describe, it, expect } from 'vitest'
import { decodeCanonical, encodeCanonical } from '../../../src/core/cbor.ts'
import { fromHex, toHex } from '../../../src/core/bytes.ts'

/** RFC 8949 Appendix A, Table 6 (value, preferred serialization). */
const APPENDIX_A: Array<[unknown, string]> = [
  [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
  [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'],
  [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
  [1.1, 'fb3ff199999999999a'], [1.5, 'f93e00'], [5.960464477539063e-8, 'f90001'], [0.00006103515625, 'f90400'],
  [-4.1, 'fbc010666666666666'],
  [false, 'f4'], [true, 'f5'], [null, 'f6'],
  [new Uint8Array(0), '40'], [Uint8Array.of(1, 2, 3, 4), '4401020304'],
  ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'],
  [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145']
]

describe('RFC 8949 Appendix A examples', () => {
  for (const [value, hex] of APPENDIX_A) {
    it(`${JSON.stringify(value, (_k, v: unknown) => v instanceof Uint8Array ? `h'${toHex(v)}'` : v)} ↔ ${hex}`, () => {
      expect(toHex(encodeCanonical(value))).toBe(hex)
      const decoded = decodeCanonical(fromHex(hex), 1024)
      expect(decoded).toEqual({ ok: true, value })
    })
  }
})

describe('RFC 8949 §4.2.1 core deterministic encoding', () => {
  it('sorts map keys bytewise by their encoding (shorter text keys first), whatever the insertion order', () => {
    // "b" is 61 62, "aa" is 62 61 61: the one-letter key sorts first.
    expect(toHex(encodeCanonical({ aa: 1, b: 2 }))).toBe('a261620262616101')
    expect(encodeCanonical({ b: 2, aa: 1 })).toEqual(encodeCanonical({ aa: 1, b: 2 }))
  })

  it('uses the shortest float that keeps the value', () => {
    expect(toHex(encodeCanonical(100000.5))).toBe('fa47c35040')
    expect(toHex(encodeCanonical(0.5))).toBe('f93800')
  })

  it('refuses every other encoding of a value: wider integers and floats, unsorted keys, indefinite lengths', () => {
    const others: Array<[string, string]> = [
      ['1817', '23 in two bytes'],
      ['190017', '23 in three bytes'],
      ['1b0000000000000001', '1 in nine bytes'],
      ['fa3fc00000', '1.5 as float32'],
      ['fb3ff8000000000000', '1.5 as float64'],
      ['a2616201616102', 'map keys out of order'],
      ['5f42010243030405ff', 'indefinite-length byte string'],
      ['9f010203ff', 'indefinite-length array'],
      ['f98000', '-0.0 (JS -0 has the integer encoding 00)'],
      ['f90000', '0.0 as a float']
    ]
    for (const [hex, why] of others) {
      const r = decodeCanonical(fromHex(hex), 1024)
      expect([why, r.ok]).toEqual([why, false])
    }
  })
})
