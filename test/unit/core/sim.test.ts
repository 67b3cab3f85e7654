/**
 * A small simulated swarm (bench/sim/swarm.ts) through the real scheduler:
 * with a third of the peers colluding on one wrong answer — always, or only
 * now and then ("sneaky": honest until trusted, then lying on 30 % of their
 * work, single replicas included) — no wrong result is accepted and the job
 * completes; with none, adaptive replication (with audits) keeps the
 * replication factor at most 1.3.
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

  it('accepts no wrong result from sneaky colluders (a third of the peers, lying on 30 % of their work)', () => {
    for (const seed of [1, 2, 3]) {
      const r = simulate({ peers: 60, shards: 1200, canaries: 60, byzantine: 0.33, lieRate: 0.3, seed })
      expect(r.done).toBe(true)
      expect(r.wrongAccepted).toBe(0)
      expect(r.failed).toBe(0)
    }
  })

  it('reaches a replication factor of at most 1.3 with no byzantine peers, canaries and audits on', () => {
    const r = simulate({ peers: 60, shards: 1200, canaries: 60, byzantine: 0, seed: 3 })
    expect(r.done).toBe(true)
    expect(r.faultyDetected).toBe(0)
    expect(r.replicationFactor).toBeLessThanOrEqual(1.3)
    expect(r.replicationFactor).toBeGreaterThan(1)
  })
})
