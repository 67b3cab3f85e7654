/** PullPace: how many shards a volunteer keeps in hand (src/swarm/pull-pace.ts). */
import { describe, it, expect } from 'vitest'
import { GROUP_TARGET_MS, GROUPS_IN_FLIGHT, PULL_FAILURES_TO_LEAVE, PULL_RETRY_MS, PullPace } from '../../../src/swarm/pull-pace.ts'
import { WORK_MAX_BATCH, WORK_MAX_HELD } from '../../../src/net/constants.ts'

describe('PullPace', () => {
  it('sends batchable shards to the worker in groups of a pull, others one by one', () => {
    expect(new PullPace(true).groupSize).toBe(WORK_MAX_BATCH)
    expect(new PullPace(false).groupSize).toBe(1)
  })

  it('groups only small shards: a group adds up to about GROUP_TARGET_MS of inference', () => {
    const small = new PullPace(true)
    small.computed(GROUP_TARGET_MS / 4)
    expect(small.groupSize).toBe(4)
    const big = new PullPace(true)
    big.computed(50)
    expect(big.groupSize).toBe(1)
    expect(big.hold).toBe(GROUPS_IN_FLIGHT + 1)
    const tiny = new PullPace(true)
    tiny.computed(0.01)
    expect(tiny.groupSize).toBe(WORK_MAX_BATCH)
  })

  it('a group is never more than one pull brings (large shards come one or two per pull)', () => {
    const large = new PullPace(true, 2)
    expect(large.groupSize).toBe(2)
    expect(large.hold).toBe(GROUPS_IN_FLIGHT * 2 + 1)
    large.computed(0.01)
    expect(large.groupSize).toBe(2)
    expect(new PullPace(true, 0).groupSize).toBe(1)
    expect(new PullPace(false, 8).groupSize).toBe(1)
  })

  it('before measuring, holds the groups in the worker and one more', () => {
    expect(new PullPace(false).hold).toBe(GROUPS_IN_FLIGHT + 1)
    expect(new PullPace(true).hold).toBe(GROUPS_IN_FLIGHT * WORK_MAX_BATCH + 1)
  })

  it('covers two round trips at the measured rate: slow shards need one in reserve, fast ones many', () => {
    const slow = new PullPace(false)
    slow.roundTrip(40)
    slow.computed(400)
    expect(slow.hold).toBe(GROUPS_IN_FLIGHT + 1)
    const fast = new PullPace(false)
    fast.roundTrip(40)
    fast.computed(5)
    expect(fast.hold).toBe(GROUPS_IN_FLIGHT + 16)
  })

  it('never holds more than the requester leases to one peer, whatever it measures', () => {
    const p = new PullPace(true)
    p.roundTrip(10_000)
    p.computed(0)
    expect(p.hold).toBe(WORK_MAX_HELD)
    p.roundTrip(Number.NaN)
    p.computed(-5)
    p.computed(Number.POSITIVE_INFINITY)
    expect(p.hold).toBe(WORK_MAX_HELD)
  })

  it('follows a change of pace through its moving averages', () => {
    const p = new PullPace(false)
    p.roundTrip(20)
    p.computed(40)
    expect(p.hold).toBe(GROUPS_IN_FLIGHT + 1)
    for (let i = 0; i < 20; i++) p.computed(4)
    expect(p.hold).toBe(GROUPS_IN_FLIGHT + 10)
  })

  it('pauses longer after each failed exchange in a row, says to leave after PULL_FAILURES_TO_LEAVE, and starts over after one that succeeds', () => {
    const p = new PullPace(true)
    const waits = Array.from({ length: PULL_FAILURES_TO_LEAVE }, () => p.pullFailed())
    expect(waits).toEqual([...Array.from({ length: PULL_FAILURES_TO_LEAVE - 1 }, (_x, i) => (i + 1) * PULL_RETRY_MS), undefined])
    p.roundTrip(30)
    expect(p.pullFailed()).toBe(PULL_RETRY_MS)
  })
})
