/** The Volunteer dashboard's view of the volunteer's work (src/ui/state/dashboard.svelte.ts). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DashboardState } from '../../../src/ui/state/dashboard.svelte.ts'
import type { ShardDone, Volunteer } from '../../../src/swarm/volunteer.ts'

/** What the dashboard reads of a volunteer: its `done` list and its change events. */
class WorkingVolunteer extends EventTarget {
  done: ShardDone[] = []
  finish (n: number): void {
    for (let i = 0; i < n; i++) {
      this.done.push({ jobId: 'j', shard: this.done.length, ms: 5, at: Date.now(), model: 'digits', samples: { count: 256, unit: 'images' } })
      this.dispatchEvent(new Event('volunteer:change'))
    }
  }
}

describe('DashboardState', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('takes a burst of finished shards in at most two looks: at once, then at the end of the gap', () => {
    const volunteer = new WorkingVolunteer()
    const dash = new DashboardState(() => Date.now())
    dash.attach(volunteer as unknown as Volunteer)
    // Attaching looked once already.
    vi.advanceTimersByTime(1000)
    const looks = vi.spyOn(volunteer.done, 'lastIndexOf')
    volunteer.finish(1)
    expect(dash.shards).toBe(1)
    // Dozens a second with a small model: each one no longer redraws the dashboard.
    vi.advanceTimersByTime(10)
    volunteer.finish(30)
    expect(dash.shards).toBe(1)
    vi.advanceTimersByTime(250)
    expect(dash.shards).toBe(31)
    expect(dash.last?.shard).toBe(30)
    expect(dash.unit).toBe('images')
    expect(dash.series.reduce((n, b) => n + b.count, 0)).toBe(31 * 256)
    expect(looks.mock.calls.length).toBeLessThanOrEqual(2)
    // Nothing new: nothing happens until the next shard.
    vi.advanceTimersByTime(1000)
    volunteer.finish(1)
    expect(dash.shards).toBe(32)
    dash.detach()
  })

  it('stops following a detached volunteer, a look already scheduled included', () => {
    const volunteer = new WorkingVolunteer()
    const dash = new DashboardState(() => Date.now())
    dash.attach(volunteer as unknown as Volunteer)
    vi.advanceTimersByTime(1000)
    volunteer.finish(1)
    volunteer.finish(5)
    dash.detach()
    vi.advanceTimersByTime(1000)
    expect(dash.shards).toBe(1)
  })
})
