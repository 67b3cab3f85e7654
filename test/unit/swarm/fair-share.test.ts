import { describe, it, expect } from 'vitest'
import { nextJob, type FairShareJob } from '../../../src/swarm/fair-share.ts'

const job = (id: string, requester: string, postedAt: number, servedAt = 0): FairShareJob & { id: string } => ({ id, requester, postedAt, servedAt })

describe('fair share between jobs and requesters', () => {
  it('serves the oldest job when nothing was served yet', () => {
    const jobs = [job('b', 'R2', 20), job('a', 'R1', 10)]
    expect(nextJob(jobs, jobs)?.id).toBe('a')
  })

  it('turns to the requester served least recently, even if its job is newer and smaller', () => {
    const large = job('large', 'R1', 10, 1_000)
    const small = job('small', 'R2', 50)
    expect(nextJob([large, small], [large, small])?.id).toBe('small')
  })

  it('counts a requester as served by any of its jobs, done ones included', () => {
    const done = job('done', 'R1', 5, 2_000)
    const r1 = job('r1-open', 'R1', 6)
    const r2 = job('r2-open', 'R2', 100, 1_000)
    expect(nextJob([done, r1, r2], [r1, r2])?.id).toBe('r2-open')
  })

  it('takes turns among one requester\'s jobs', () => {
    const first = job('first', 'R1', 10, 3_000)
    const second = job('second', 'R1', 20)
    expect(nextJob([first, second], [first, second])?.id).toBe('second')
  })

  it('alternates over a run of slices: each of three requesters gets every third slice', () => {
    const jobs = [job('a', 'R1', 1), job('b', 'R2', 2), job('c', 'R3', 3)]
    const order: string[] = []
    for (let t = 1; t <= 9; t++) {
      const next = nextJob(jobs, jobs)!
      next.servedAt = t
      order.push(next.id)
    }
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('returns undefined when nothing is runnable and leaves its input in order', () => {
    const jobs = [job('b', 'R2', 20), job('a', 'R1', 10)]
    expect(nextJob(jobs, [])).toBeUndefined()
    nextJob(jobs, jobs)
    expect(jobs.map(j => j.id)).toEqual(['b', 'a'])
  })
})
