/**
 * Tensor wire format (src/core/tensors.ts): round trips (fast-check), a
 * hand-checked encoding, hostile inputs (the shared junk lists plus
 * structurally wrong maps) refused with a reason and never a throw.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { toHex } from '../../../src/core/bytes.ts'
import {
  decodeTensors, encodeTensors, makeTensor, tensorValues, ITEM_SIZE, TENSOR_LIMITS, type DType, type TensorData, type TensorMap
} from '../../../src/core/tensors.ts'
import { JUNK_BYTES, NOT_BYTES } from '../vectors/junk.ts'

const DTYPES = Object.keys(ITEM_SIZE) as DType[]

const tensorArb: fc.Arbitrary<TensorData> = fc.constantFrom(...DTYPES).chain(dtype =>
  fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }).chain(dims => {
    const n = dims.reduce((a, d) => a * d, 1)
    const byte = dtype === 'bool' ? fc.integer({ min: 0, max: 1 }) : fc.integer({ min: 0, max: 255 })
    return fc.array(byte, { minLength: n * ITEM_SIZE[dtype], maxLength: n * ITEM_SIZE[dtype] })
      .map(bytes => ({ dtype, dims, data: Uint8Array.from(bytes) }))
  }))

const mapArb: fc.Arbitrary<TensorMap> = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9_.:]{0,15}$/).filter(s => s !== 'constructor' && s !== 'prototype'),
  tensorArb, { minKeys: 1, maxKeys: 5 })

function refuses (bytes: unknown, maxBytes?: number): string {
  const r = decodeTensors(bytes as Uint8Array, { maxBytes })
  expect(r.ok).toBe(false)
  return r.ok ? '' : r.reason
}

describe('encodeTensors / decodeTensors', () => {
  it('round-trips any valid map, byte for byte', () => {
    fc.assert(fc.property(mapArb, map => {
      const bytes = encodeTensors(map)
      const r = decodeTensors(bytes)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(Object.keys(r.tensors).sort()).toEqual(Object.keys(map).sort())
      for (const [name, t] of Object.entries(map)) {
        expect(r.tensors[name]!.dtype).toBe(t.dtype)
        expect(r.tensors[name]!.dims).toEqual(t.dims)
        expect(toHex(r.tensors[name]!.data)).toBe(toHex(t.data))
      }
      expect(toHex(encodeTensors(r.tensors))).toBe(toHex(bytes))
    }), { numRuns: 200 })
  })

  it('is independent of key insertion order (stable hash)', () => {
    const a = makeTensor('float32', [2], [1, 2])
    const b = makeTensor('int64', [1], [7n])
    expect(toHex(encodeTensors({ x: a, y: b }))).toBe(toHex(encodeTensors({ y: b, x: a })))
  })

  it('encodes a known map to the expected canonical CBOR', () => {
    // {"x": {"data": h'0100', "dims": [2], "dtype": "bool"}}; keys sorted bytewise by encoding (RFC 8949 §4.2.1).
    const bytes = encodeTensors({ x: makeTensor('bool', [2], [1, 0]) })
    expect(toHex(bytes)).toBe('a16178a364646174614201006464696d73810265647479706564626f6f6c')
  })

  it('refuses every shared junk input without throwing', () => {
    for (const x of NOT_BYTES) refuses(x)
    for (const [, bytes] of JUNK_BYTES) refuses(bytes)
  })

  it('refuses fuzzed bytes and single-byte corruptions without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      const r = decodeTensors(bytes)
      expect(typeof r.ok).toBe('boolean')
    }), { numRuns: 300 })
    fc.assert(fc.property(mapArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (map, at, x) => {
      const bytes = encodeTensors(map).slice()
      bytes[at % bytes.length] = bytes[at % bytes.length]! ^ x
      const r = decodeTensors(bytes)
      if (r.ok) expect(toHex(encodeTensors(r.tensors))).toBe(toHex(bytes))
    }), { numRuns: 300 })
  })

  const good = { dtype: 'float32', dims: [2, 2], data: new Uint8Array(16) }
  const structural: Array<[string, unknown]> = [
    ['empty map', {}],
    ['array instead of map', [good]],
    ['tensor is bytes', { x: new Uint8Array(16) }],
    ['unknown dtype', { x: { ...good, dtype: 'float16' } }],
    ['missing data', { x: { dtype: 'float32', dims: [1] } }],
    ['extra field', { x: { ...good, scale: 1 } }],
    ['dims not an array', { x: { ...good, dims: 4 } }],
    ['negative dim', { x: { ...good, dims: [-2, -2] } }],
    ['fractional dim', { x: { ...good, dims: [0.5, 8] } }],
    ['too few data bytes', { x: { ...good, dims: [2, 3] } }],
    ['too many data bytes', { x: { ...good, dims: [3] } }],
    ['huge dims, tiny data', { x: { ...good, dims: [2 ** 40, 2 ** 40, 2 ** 40] } }],
    ['zero dim with data', { x: { ...good, dims: [0, 4] } }],
    ['rank above the cap', { x: { ...good, dims: [1, 1, 1, 1, 1, 1, 1, 1, 1, 16] } }],
    ['bool byte 2', { x: { dtype: 'bool', dims: [2], data: Uint8Array.of(1, 2) } }],
    ['empty name', { '': good }],
    ['non-ASCII name', { 'é': good }],
    ['overlong name', { ['n'.repeat(TENSOR_LIMITS.nameLength + 1)]: good }],
    ['constructor name', { constructor: good }],
    ['too many tensors', Object.fromEntries(Array.from({ length: TENSOR_LIMITS.tensors + 1 }, (_, i) => [`t${i}`, good]))]
  ]
  for (const [why, value] of structural) {
    it(`refuses canonical CBOR that is not a valid tensor map: ${why}`, () => {
      const reason = refuses(encodeCanonical(value))
      expect(reason.length).toBeGreaterThan(0)
      expect(() => encodeTensors(value as TensorMap)).toThrow(TypeError)
    })
  }

  it('refuses input above maxBytes before parsing', () => {
    const bytes = encodeTensors({ x: makeTensor('uint8', [100], new Array(100).fill(3)) })
    expect(refuses(bytes, bytes.length - 1)).toMatch(/exceeds the cap/)
    expect(decodeTensors(bytes, { maxBytes: bytes.length }).ok).toBe(true)
  })
})

describe('makeTensor / tensorValues', () => {
  it('reads back what was written for every dtype, little-endian', () => {
    const cases: Array<[DType, number[]]> = [
      ['float32', [1.5, -2, 0, 3.25]], ['float64', [Math.PI, -1e300, 0, 5e-324]], ['int32', [-(2 ** 31), 2 ** 31 - 1, 0, 7]],
      ['int64', [-(2 ** 53) + 1, 2 ** 53 - 1, 0, -7]], ['int8', [-128, 127, 0, 1]], ['uint8', [0, 255, 1, 2]], ['bool', [1, 0, 0, 1]]
    ]
    for (const [dtype, values] of cases) expect(Array.from(tensorValues(makeTensor(dtype, [2, 2], values)))).toEqual(values)
    expect(Array.from(makeTensor('int32', [1], [258]).data)).toEqual([2, 1, 0, 0])
    expect(Array.from(makeTensor('float32', [1], [1]).data)).toEqual([0, 0, 0x80, 0x3f])
  })

  it('reads unaligned data', () => {
    const t = makeTensor('float32', [2], [1.5, -3])
    const shifted = new Uint8Array(9)
    shifted.set(t.data, 1)
    expect(Array.from(tensorValues({ ...t, data: shifted.subarray(1) }))).toEqual([1.5, -3])
  })

  it('refuses values that do not fit', () => {
    expect(() => makeTensor('uint8', [1], [256])).toThrow(TypeError)
    expect(() => makeTensor('int32', [1], [1.5])).toThrow(TypeError)
    expect(() => makeTensor('bool', [1], [2])).toThrow(TypeError)
    expect(() => makeTensor('float32', [3], [1, 2])).toThrow(TypeError)
  })
})
