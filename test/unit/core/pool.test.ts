import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mapPooled } from '../../../src/core/pool.ts'

const tick = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('mapPooled', () => {
  it('keeps input order whatever order the calls finish in, and never has more than `limit` in flight', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (delays, limit) => {
      let inFlight = 0
      let most = 0
      const progress: number[] = []
      const out = await mapPooled(delays, async (d, i) => {
        most = Math.max(most, ++inFlight)
        await tick(d)
        inFlight--
        return i * 10
      }, { limit, onProgress: done => { progress.push(done) } })
      expect(out).toEqual(delays.map((_d, i) => i * 10))
      expect(most).toBeLessThanOrEqual(limit)
      expect(progress).toEqual(delays.map((_d, i) => i + 1))
    }), { numRuns: 40 })
  })

  it('runs `limit` calls at once when it can', async () => {
    let inFlight = 0
    let most = 0
    await mapPooled(Array.from({ length: 20 }, (_x, i) => i), async () => { most = Math.max(most, ++inFlight); await tick(2); inFlight-- }, { limit: 8 })
    expect(most).toBe(8)
  })

  it('rejects with the earliest failing item, as a one-at-a-time loop would, and starts nothing after a failure', async () => {
    const started: number[] = []
    // Item 5 fails first (no wait); item 3, already in flight, fails later: 3 is what a sequential loop reports.
    const p = mapPooled(Array.from({ length: 40 }, (_x, i) => i), async i => {
      started.push(i)
      if (i === 3) { await tick(20); throw new Error('item 3') }
      if (i === 5) throw new Error('item 5')
      await tick(5)
      return i
    }, { limit: 6 })
    await expect(p).rejects.toThrow('item 3')
    expect(Math.max(...started)).toBeLessThan(8)
  })

  it('stops at an abort with the signal\'s reason', async () => {
    const controller = new AbortController()
    let calls = 0
    const p = mapPooled(Array.from({ length: 100 }, (_x, i) => i), async i => {
      calls++
      if (i === 10) controller.abort(new Error('user cancelled'))
      await tick(1)
      return i
    }, { limit: 2, signal: controller.signal })
    await expect(p).rejects.toThrow('user cancelled')
    expect(calls).toBeLessThan(15)
  })

  it('an empty list gives an empty result without calling anything', async () => {
    expect(await mapPooled([], async () => { throw new Error('called') }, { limit: 4 })).toEqual([])
  })
})
