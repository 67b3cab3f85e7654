/**
 * Images per digits shard: the default grows with the job (many shards for
 * a small job, large shards for a large one), and a typed count is checked.
 */
import { describe, it, expect } from 'vitest'
import { DIGITS_LARGE_SHARD, DIGITS_PER_SHARD, DIGITS_TARGET_SHARDS, digitsPerShard, resultCount, shardFiles, shownOutputs, suggestedPerShard, type JobMeta } from '../../../src/swarm/job-kinds.ts'

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

describe('what a job page decodes', () => {
  const files = Array.from({ length: 3000 }, (_, i) => `d${i}.png`)
  const digits: JobMeta = { kind: 'digits', files, perShard: 256 }
  const out = (shards: number[]): Map<number, Uint8Array> => new Map(shards.map(s => [s, new Uint8Array([s])]))

  it('digits: only the first shards, in shard order, up to the images it draws; the count needs no decoding', () => {
    const all = out([11, 3, 0, 5, 2, 1, 4, 6, 7, 8, 9, 10])
    expect([...shownOutputs(digits, all, 1000).keys()]).toEqual([0, 1, 2, 3])
    expect([...shownOutputs(digits, out([5, 0, 2, 3, 4]), 1000).keys()]).toEqual([0, 2, 3, 4])
    expect([...shownOutputs(digits, all, 256).keys()]).toEqual([0])
    expect(shownOutputs(digits, new Map(), 1000).size).toBe(0)
    // The last shard holds what is left: 3,000 − 11 × 256 = 184 images.
    expect(resultCount(digits, all)).toBe(3000)
    expect(resultCount(digits, out([0, 11]))).toBe(256 + 184)
  })

  it('one file a shard (VAD, tensors): every output; OCR counts none (its pipeline makes its results)', () => {
    const vad: JobMeta = { kind: 'vad', files: ['a.wav', 'b.wav', 'c.wav'], samples: [1, 1, 1] }
    const outputs = out([2, 0])
    expect(shownOutputs(vad, outputs, 1)).toBe(outputs)
    expect(resultCount(vad, outputs)).toBe(2)
    expect(resultCount({ kind: 'tensors', files: ['x.json'] }, out([0]))).toBe(1)
    expect(resultCount({ kind: 'ocr', images: [] }, out([0, 1]))).toBe(0)
  })
})
