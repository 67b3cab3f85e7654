/** The refresh throttle of the UI state (src/ui/state/throttle.ts). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Throttle } from '../../../src/ui/state/throttle.ts'

describe('Throttle', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  const make = (): { runs: number[], t: Throttle } => {
    const runs: number[] = []
    const t = new Throttle(() => { runs.push(Date.now()) }, 100, () => Date.now())
    return { runs, t }
  }

  it('runs a lone request at once', () => {
    const { runs, t } = make()
    const start = Date.now()
    t.request()
    expect(runs).toEqual([start])
  })

  it('gathers a burst into one run at the end of the gap', () => {
    const { runs, t } = make()
    const start = Date.now()
    t.request()
    vi.advanceTimersByTime(10)
    for (let i = 0; i < 50; i++) t.request()
    expect(runs).toHaveLength(1)
    vi.advanceTimersByTime(89)
    expect(runs).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(runs).toEqual([start, start + 100])
    vi.advanceTimersByTime(1000)
    expect(runs).toHaveLength(2)
  })

  it('runs at once again once the gap has passed', () => {
    const { runs, t } = make()
    const start = Date.now()
    t.request()
    vi.advanceTimersByTime(150)
    t.request()
    expect(runs).toEqual([start, start + 150])
  })

  it('a direct run replaces the one waiting and starts a new gap; cancel drops a waiting run', () => {
    const { runs, t } = make()
    const start = Date.now()
    t.request()
    vi.advanceTimersByTime(20)
    t.request()
    vi.advanceTimersByTime(20)
    t.runNow()
    vi.advanceTimersByTime(200)
    expect(runs).toEqual([start, start + 40])
    t.request()
    vi.advanceTimersByTime(10)
    t.request()
    t.cancel()
    vi.advanceTimersByTime(500)
    expect(runs).toEqual([start, start + 40, start + 240])
  })
})
