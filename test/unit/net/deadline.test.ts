import { describe, it, expect, vi, afterEach } from 'vitest'
import { deadline, sleep } from '../../../src/net/deadline.ts'

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

describe('sleep', () => {
  afterEach(() => { vi.useRealTimers() })

  it('resolves after its time, early when woken, and rejects with the signal\'s reason on abort, leaving no timer behind', async () => {
    vi.useFakeTimers()
    const never = new AbortController().signal
    let done = false
    const slept = sleep(1_000, never).then(() => { done = true })
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await slept
    expect(done).toBe(true)

    let wake!: () => void
    const woken = sleep(60_000, never, w => { wake = w })
    wake()
    await woken
    expect(vi.getTimerCount()).toBe(0)

    const stop = new AbortController()
    const stopped = sleep(60_000, stop.signal)
    stop.abort(new Error('stop'))
    await expect(stopped).rejects.toThrow('stop')
    expect(vi.getTimerCount()).toBe(0)
    await expect(sleep(10, stop.signal)).rejects.toThrow('stop')
    const zero = sleep(-5, never)
    await vi.advanceTimersByTimeAsync(0)
    await zero
  })
})
