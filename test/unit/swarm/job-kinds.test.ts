/**
 * Images per digits shard: the default grows with the job (many shards for
 * a small job, large shards for a large one), and a typed count is checked.
 */
import { describe, it, expect } from 'vitest'
import { DIGITS_LARGE_SHARD, DIGITS_PER_SHARD, DIGITS_TARGET_SHARDS, digitsPerShard, shardFiles, suggestedPerShard } from '../../../src/swarm/job-kinds.ts'

describe('images per digits shard', () => {
  it('cuts a small job 128 images to a shard, and a large one into about 48 shards of at most 256', () => {
    expect(suggestedPerShard(1)).toBe(DIGITS_PER_SHARD)
    expect(suggestedPerShard(200)).toBe(128)
    expect(suggestedPerShard(DIGITS_TARGET_SHARDS * 128)).toBe(128)
    expect(suggestedPerShard(DIGITS_TARGET_SHARDS * 128 + 1)).toBe(129)
    expect(suggestedPerShard(7_000)).toBe(146)
    expect(suggestedPerShard(12_288)).toBe(256)
    expect(suggestedPerShard(100_000)).toBe(DIGITS_LARGE_SHARD)
    for (const n of [1, 7, 500, 5_000, 13_000]) expect(Math.ceil(n / suggestedPerShard(n))).toBeLessThanOrEqual(Math.max(DIGITS_TARGET_SHARDS, Math.ceil(n / DIGITS_LARGE_SHARD)))
  })

  it('takes a typed count from 1 to 1024, and the suggestion when none was typed', () => {
    expect(digitsPerShard(undefined, 12_288)).toBe(256)
    expect(digitsPerShard(3, 12_288)).toBe(3)
    for (const bad of [0, -1, 1.5, 1025, Number.NaN]) expect(() => digitsPerShard(bad, 100)).toThrow(/whole number from 1 to 1024/)
  })
})

describe('the files of a shard', () => {
  it('names the images of a digits shard, the one file of other shards, none for OCR or out of range', () => {
    const files = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']
    expect(shardFiles({ kind: 'digits', files, perShard: 2 }, 1)).toEqual(['c.png', 'd.png'])
    expect(shardFiles({ kind: 'digits', files, perShard: 2 }, 2)).toEqual(['e.png'])
    expect(shardFiles({ kind: 'tensors', files }, 3)).toEqual(['d.png'])
    expect(shardFiles({ kind: 'vad', files: ['x.wav'], samples: [16000] }, 1)).toEqual([])
    expect(shardFiles({ kind: 'ocr', images: [] }, 0)).toEqual([])
  })
})
