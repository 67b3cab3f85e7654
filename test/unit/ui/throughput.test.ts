/**
 * The dashboard's throughput meter: bins over a sliding window, the
 * per-minute rate, bounded memory, and samples (images, lines, audio
 * windows) instead of shards when every shard in the window says how many
 * it held, in one unit.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ThroughputMeter } from '../../../src/ui/state/throughput.ts'

const MIN = 60_000

describe('ThroughputMeter', () => {
  it('puts each shard in the bin of its time, oldest bin first, empty bins included', () => {
    const m = new ThroughputMeter({ windowMs: 2 * MIN, binMs: 30_000 })
    const t0 = 1_700_000_010_000 - (1_700_000_010_000 % 30_000)
    m.record(t0 + 1_000)
    m.record(t0 + 29_999, 2)
    m.record(t0 + 60_000)
    const s = m.series(t0 + 61_000)
    expect(s.map(b => b.count)).toEqual([0, 3, 0, 1])
    expect(s.map(b => b.start)).toEqual([t0 - 30_000, t0, t0 + 30_000, t0 + 60_000])
    expect(m.total).toBe(4)
  })

  it('drops bins that slid out of the window, but keeps the session total', () => {
    const m = new ThroughputMeter({ windowMs: MIN, binMs: 30_000 })
    m.record(0, 5)
    expect(m.series(10 * MIN).every(b => b.count === 0)).toBe(true)
    expect(m.total).toBe(5)
  })

  it('counts the last minute as shards per minute, prorating a bin that straddles its start', () => {
    const m = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
    m.record(0, 10) // bin [0, 30 s)
    m.record(30_000, 6) // bin [30 s, 60 s)
    m.record(60_000, 3) // the current bin, 15 s into it
    // From 15 s to 75 s: half of the first bin, all of the second and the current one.
    expect(m.perMinute(75_000)).toBeCloseTo(5 + 6 + 3)
    expect(m.perMinute(10 * MIN)).toBe(0)
  })

  it('ignores nonsense and refuses a window that is not whole bins', () => {
    const m = new ThroughputMeter()
    m.record(Number.NaN)
    m.record(1_000, 0)
    m.record(1_000, -3)
    expect(m.total).toBe(0)
    expect(() => new ThroughputMeter({ windowMs: 100, binMs: 30 })).toThrow(RangeError)
    expect(() => new ThroughputMeter({ windowMs: 0, binMs: 0 })).toThrow(RangeError)
  })

  it('the window always holds windowMs / binMs bins whose counts sum to the shards recorded inside it', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 * MIN }), { maxLength: 200 }), fc.integer({ min: 0, max: 25 * MIN }), (times, now) => {
      const m = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
      for (const t of times) m.record(t)
      const s = m.series(now)
      expect(s).toHaveLength(20)
      const from = s[0]!.start
      const to = s[s.length - 1]!.start + 30_000
      expect(s.reduce((a, b) => a + b.count, 0)).toBe(times.filter(t => t >= from && t < to).length)
    }))
  })

  it('counts samples when every shard in the window has them: a 256-image shard weighs 256 one-image shards', () => {
    const m = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
    m.record(0, 1, { count: 256, unit: 'images' })
    m.record(1_000, 1, { count: 1, unit: 'images' })
    m.record(31_000, 1, { count: 256, unit: 'images' })
    expect(m.unit(40_000)).toBe('images')
    expect(m.series(40_000).slice(-2).map(b => b.count)).toEqual([257, 256])
    expect(m.perMinute(60_000)).toBe(513)
    // Asked in shards, the same window counts three.
    expect(m.series(40_000, 'shards').slice(-2).map(b => b.count)).toEqual([2, 1])
    expect(m.perMinute(60_000, 'shards')).toBe(3)
    expect(m.total).toBe(3)
  })

  it('falls back to shards when a shard in the window has no sample count, or units are mixed', () => {
    const unknown = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
    unknown.record(0, 1, { count: 256, unit: 'images' })
    unknown.record(1_000)
    expect(unknown.unit(2_000)).toBe('shards')
    expect(unknown.series(2_000).at(-1)!.count).toBe(2)

    const mixed = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
    mixed.record(0, 1, { count: 1, unit: 'images' })
    mixed.record(1_000, 1, { count: 1, unit: 'lines' })
    expect(mixed.unit(2_000)).toBe('shards')
    // Once the unknown shard slides out of the window, the window is told in samples again.
    unknown.record(11 * MIN, 1, { count: 8, unit: 'images' })
    expect(unknown.unit(11 * MIN)).toBe('images')
    expect(new ThroughputMeter().unit(0)).toBe('shards')
  })

  it('in any unit, the window\'s bins sum to what was recorded inside it', () => {
    const sample = fc.record({ at: fc.integer({ min: 0, max: 20 * MIN }), n: fc.integer({ min: 1, max: 300 }) })
    fc.assert(fc.property(fc.array(sample, { maxLength: 100 }), fc.integer({ min: 0, max: 25 * MIN }), (shards, now) => {
      const m = new ThroughputMeter({ windowMs: 10 * MIN, binMs: 30_000 })
      for (const s of shards) m.record(s.at, 1, { count: s.n, unit: 'windows' })
      const s = m.series(now, 'windows')
      const from = s[0]!.start
      const to = s[s.length - 1]!.start + 30_000
      const inside = shards.filter(x => x.at >= from && x.at < to)
      expect(s.reduce((a, b) => a + b.count, 0)).toBe(inside.reduce((a, x) => a + x.n, 0))
      expect(m.unit(now)).toBe(inside.length > 0 ? 'windows' : 'shards')
    }))
  })
})
