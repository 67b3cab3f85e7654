import { describe, it, expect } from 'vitest'
import { steadySps, workerUse } from '../../../bench/swarm-driver.ts'

const verdicts = (peer: string, times: number[]): Array<{ shard: number, at: number, peers: string[] }> => times.map((at, i) => ({ shard: i, at, peers: [peer] }))

describe('steady samples/s of a job', () => {
  it('is the slope of each volunteer\'s verdict staircase, summed', () => {
    const a = verdicts('A', [0, 0, 100, 100, 200, 200, 300, 300])
    const b = verdicts('B', [50, 150, 250, 350])
    const { sps, byPeer } = steadySps({ postedAt: 0, verified: [...a, ...b] }, 10)
    expect(byPeer.get('B')).toBeCloseTo(100, 5) // 1 shard per 100 ms × 10 samples
    expect(byPeer.get('A')).toBeGreaterThan(150)
    expect(byPeer.get('A')).toBeLessThan(250)
    expect(sps).toBeCloseTo(byPeer.get('A')! + byPeer.get('B')!, 9)
  })

  it('counts a volunteer that took part only briefly over the job\'s span, not by the slope of two close verdicts', () => {
    const a = verdicts('A', Array.from({ length: 20 }, (_x, i) => i * 100))
    const b = verdicts('B', [1_000, 1_005])
    const { byPeer } = steadySps({ postedAt: 0, verified: [...a, ...b] }, 256)
    expect(byPeer.get('B')).toBeCloseTo(2 / 1_900 * 256 * 1000, 5)
    expect(byPeer.get('B')!).toBeLessThan(byPeer.get('A')!)
  })
})

describe('how a lone volunteer\'s worker was used', () => {
  it('busy: attested worker time after the first verdict over the first-to-last span; time per sample over every shard', () => {
    // Five shards 100 ms apart, each 60 ms of worker time: busy 0.6; 10 samples each: 6 ms per sample.
    const times = { postedAt: 0, verified: verdicts('A', [1000, 1100, 1200, 1300, 1400]) }
    const ms = new Map([0, 1, 2, 3, 4].map(s => [s, 60]))
    expect(workerUse(times, ms, 10)).toEqual({ busy: 0.6, msPerSample: 6 })
    // Shards this volunteer did not attest (another peer's) are left out.
    const partial = new Map([[0, 60], [2, 80], [4, 100]])
    const use = workerUse(times, partial, 10)
    expect(use.busy).toBeCloseTo((80 + 100) / 400, 9)
    expect(use.msPerSample).toBeCloseTo(240 / 30, 9)
    expect(workerUse(times, new Map(), 10)).toEqual({ busy: NaN, msPerSample: NaN })
  })
})
