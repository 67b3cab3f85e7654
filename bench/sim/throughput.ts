/**
 * Raw speed of the real scheduler: `peers` volunteers pulling and completing
 * `shards` shards (2 replicas, quorum 2, canaries at 5 %) with no network in
 * between. A decision is one assignment handed out or one result decided.
 */
import { Scheduler } from '../../src/core/scheduler.ts'

export interface ThroughputResult {
  decisions: number
  ms: number
  perSecond: number
}

export function schedulerThroughput (peers = 1000, shards = 100_000, seed = 1): ThroughputResult {
  const canaries = Math.ceil(shards / 100)
  const s = new Scheduler({ seed, leaseMs: 1e12 })
  s.addJob({
    jobId: 'bench', requester: 'r', shards: shards + canaries,
    policy: { replicas: 2, quorum: 2, compare: { kind: 'exact' }, canaryRate: 0.05, deadline: Number.MAX_SAFE_INTEGER },
    canaries: new Map(Array.from({ length: canaries }, (_, i) => [i * 100, { outputHash: `good-${i * 100}` }]))
  })
  const ids = Array.from({ length: peers }, (_, i) => `peer-${i}`)
  let decisions = 0
  const t0 = performance.now()
  for (let round = 0; !s.progress('bench')!.done && round < 100_000; round++) {
    let handed = 0
    for (const peer of ids) {
      const work = s.pull(peer, 2, round)
      handed += work.length
      decisions += work.length
      for (const a of work) {
        s.complete(a.leaseId, peer, { outputHash: `good-${a.shard}` })
        decisions++
      }
    }
    if (handed === 0) throw new Error('scheduler stalled with work left')
  }
  const ms = performance.now() - t0
  return { decisions, ms, perSecond: decisions / (ms / 1000) }
}
