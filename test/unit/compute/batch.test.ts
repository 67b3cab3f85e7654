import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { makeTensor, type TensorMap } from '../../../src/core/tensors.ts'
import { batchKey, batchSize, concatBatch, splitBatch } from '../../../src/compute/batch.ts'

const rows = (n: number, seed: number): TensorMap => ({
  input: makeTensor('float32', [n, 2, 3], Array.from({ length: n * 6 }, (_, i) => seed * 100 + i)),
  ids: makeTensor('int64', [n, 1], Array.from({ length: n }, (_, i) => BigInt(seed * 10 + i)))
})

describe('batching', () => {
  it('concat then split returns the original maps (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }), sizes => {
      const maps = sizes.map((n, i) => rows(n, i))
      const joined = concatBatch(maps)
      expect(batchSize(joined)).toBe(sizes.reduce((a, b) => a + b, 0))
      expect(splitBatch(joined, sizes)).toEqual(maps)
    }))
  })
  it('keys agree only for maps that can be concatenated', () => {
    expect(batchKey(rows(1, 0))).toBe(batchKey(rows(3, 1)))
    const other: TensorMap = { ...rows(1, 0), input: makeTensor('float32', [1, 3, 2], new Array(6).fill(0)) }
    expect(batchKey(other)).not.toBe(batchKey(rows(1, 0)))
    expect(batchKey({ s: makeTensor('int64', [], [16000n]) })).toBeUndefined()
  })
  it('refuses to split an output whose dim 0 is not the batch', () => {
    expect(() => splitBatch({ y: makeTensor('float32', [2, 1], [0, 1]) }, [1, 2])).toThrow(RangeError)
  })
})
