/**
 * A small simulated swarm (bench/sim/swarm.ts) through the real scheduler:
 * with a third of the peers colluding on one wrong answer, no wrong result is
 * accepted and the job completes; with none, adaptive replication keeps the
 * replication factor well under 2.
 */
import { describe, it, expect } from 'vitest'
import { simulate } from '../../../bench/sim/swarm.ts'

describe('simulated swarm', () => {
  it('accepts no wrong result with 33 % colluding byzantine peers, and catches them', () => {
    for (const seed of [1, 2]) {
      const r = simulate({ peers: 60, shards: 600, canaries: 60, byzantine: 0.33, seed })
      expect(r.done).toBe(true)
      expect(r.wrongAccepted).toBe(0)
      expect(r.failed).toBe(0)
      expect(r.faultyDetected).toBeGreaterThanOrEqual(r.byzantinePeers)
    }
  })

  it('reaches a replication factor below 1.5 with no byzantine peers, canaries on', () => {
    const r = simulate({ peers: 60, shards: 1200, canaries: 60, byzantine: 0, seed: 3 })
    expect(r.done).toBe(true)
    expect(r.faultyDetected).toBe(0)
    expect(r.replicationFactor).toBeLessThan(1.5)
    expect(r.replicationFactor).toBeGreaterThan(1)
  })
})
