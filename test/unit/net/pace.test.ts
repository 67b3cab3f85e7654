/** How often a peer repeats what every peer checks, as the swarm grows (src/net/pace.ts). */
import { describe, expect, it } from 'vitest'
import { swarmInterval } from '../../../src/net/pace.ts'
import { SWARM_MAX_INTERVAL_MS, SWARM_REPEATS_PER_S } from '../../../src/net/constants.ts'

describe('swarmInterval', () => {
  it('is the base interval in a small swarm, then spaced to about SWARM_REPEATS_PER_S a second in all, capped', () => {
    expect(swarmInterval(0, 2000)).toBe(2000)
    expect(swarmInterval(2 * SWARM_REPEATS_PER_S - 1, 2000)).toBe(2000)
    for (const others of [100, 299, 500]) {
      expect(swarmInterval(others, 2000)).toBeGreaterThan(2000)
      // The whole swarm (the peers counted and this one) sends about SWARM_REPEATS_PER_S a second.
      expect((others + 1) * 1000 / swarmInterval(others, 2000)).toBeCloseTo(SWARM_REPEATS_PER_S, 0)
    }
    expect(swarmInterval(100_000, 2000)).toBe(SWARM_MAX_INTERVAL_MS)
  })

  it('is never shorter than the base, whatever it is', () => {
    expect(swarmInterval(0, 60_000)).toBe(60_000)
    expect(swarmInterval(100_000, 60_000)).toBe(60_000)
  })
})
