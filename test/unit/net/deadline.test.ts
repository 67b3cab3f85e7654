import { describe, it, expect, vi, afterEach } from 'vitest'
import { deadline } from '../../../src/net/deadline.ts'

describe('deadline', () => {
  afterEach(() => { vi.useRealTimers() })

  it('aborts with a TimeoutError once the time is up', () => {
    vi.useFakeTimers()
    const d = deadline(1_000)
    vi.advanceTimersByTime(999)
    expect(d.signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    expect(d.signal.aborted).toBe(true)
    expect((d.signal.reason as Error).name).toBe('TimeoutError')
  })

  it('releases its timer when cleared: nothing is left pending and the signal never aborts', () => {
    vi.useFakeTimers()
    const d = deadline(30_000)
    expect(vi.getTimerCount()).toBe(1)
    d.clear()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(60_000)
    expect(d.signal.aborted).toBe(false)
  })
})
