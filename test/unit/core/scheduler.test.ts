/**
 * Pull scheduler (src/core/scheduler.ts): leases and reassignment, never two
 * replicas of a shard on one peer, quorum with dissent, colluders, canaries
 * and re-verification, held verdicts until vetted, adaptive replication,
 * fair share, caps, injected comparator.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { leaseIdBase, Scheduler, type Assignment, type JobSpec, type Reverifying, type SchedulerEvent } from '../../../src/core/scheduler.ts'
import type { JobPolicy } from '../../../src/core/schemas.ts'
import { compareOutputs } from '../../../src/core/compare.ts'
import { makeTensor, type TensorMap } from '../../../src/core/tensors.ts'

const T = 1_000_000
const policy = (p: Partial<JobPolicy> = {}): JobPolicy => ({ replicas: 2, quorum: 2, compare: { kind: 'exact' }, canaryRate: 0.1, deadline: 1e15, ...p })
const good = (shard: number): string => `good-${shard}`
const bad = (shard: number): string => `bad-${shard}`
const of = <E extends SchedulerEvent['type']>(events: SchedulerEvent[], type: E): Array<Extract<SchedulerEvent, { type: E }>> =>
  events.filter((e): e is Extract<SchedulerEvent, { type: E }> => e.type === type)

function job (id: string, shards: number, p: Partial<JobPolicy> = {}, canaries: number[] = [], requester = 'req'): JobSpec {
  return { jobId: id, requester, shards, policy: policy(p), canaries: new Map(canaries.map(i => [i, { outputHash: good(i) }])) }
}

/** Pulls once for `peer` and answers every assignment: `lie(a)` decides whether to give the wrong answer. */
function work (s: Scheduler, peer: string, capacity: number, lie: (a: Assignment) => boolean = () => false, now = T): SchedulerEvent[] {
  return s.pull(peer, capacity, now).flatMap(a => s.complete(a.leaseId, peer, { outputHash: lie(a) ? bad(a.shard) : good(a.shard) }))
}

describe('leases', () => {
  it('reassigns a lost lease after its deadline and refuses the late result', () => {
    const s = new Scheduler({ leaseMs: 1000 })
    s.addJob(job('j', 1, { replicas: 1, quorum: 1, canaryRate: 0 }))
    const [a] = s.pull('A', 1, T)
    expect(a).toMatchObject({ jobId: 'j', shard: 0, deadline: T + 1000 })
    expect(s.pull('B', 1, T)).toEqual([])
    expect(s.expire(T + 999)).toEqual([])
    expect(of(s.expire(T + 1000), 'lease:expired')).toEqual([{ type: 'lease:expired', leaseId: a!.leaseId, peer: 'A', jobId: 'j', shard: 0 }])
    const [b] = s.pull('B', 1, T + 1001)
    expect(b?.shard).toBe(0)
    expect(of(s.complete(a!.leaseId, 'A', { outputHash: good(0) }), 'result:refused')).toHaveLength(1)
    expect(of(s.complete(b!.leaseId, 'B', { outputHash: good(0) }), 'shard:accepted')[0]).toMatchObject({ credited: ['B'], rejected: [] })
  })

  it('a peer whose lease ran out may take the shard again: two volunteers whose second one lost its lease still finish', () => {
    const s = new Scheduler({ leaseMs: 1000 })
    s.addJob(job('j', 1, { canaryRate: 0 }))
    const [a] = s.pull('A', 1, T)
    const [b] = s.pull('B', 1, T)
    s.complete(b!.leaseId, 'B', { outputHash: good(0) })
    s.expire(T + 1000)
    // B answered it: never a second replica. A only lost its lease: it is the one peer left to answer.
    expect(s.pull('B', 1, T + 1001)).toEqual([])
    const [again] = s.pull('A', 1, T + 1001)
    expect(again).toMatchObject({ shard: 0 })
    expect(again!.leaseId).not.toBe(a!.leaseId)
    expect(of(s.complete(again!.leaseId, 'A', { outputHash: good(0) }), 'shard:accepted')[0]!.credited.sort()).toEqual(['A', 'B'])
  })

  it('reopens a departed peer\'s leases at once and refuses completions for another peer\'s lease', () => {
    const s = new Scheduler()
    s.addJob(job('j', 2, { replicas: 1, quorum: 1, canaryRate: 0 }))
    const got = s.pull('A', 2, T)
    expect(got).toHaveLength(2)
    expect(of(s.complete(got[0]!.leaseId, 'B', { outputHash: 'x' }), 'result:refused')).toHaveLength(1)
    expect(of(s.removePeer('A'), 'lease:cancelled')).toHaveLength(2)
    expect(s.pull('B', 5, T).map(a => a.shard).sort()).toEqual([0, 1])
  })

  it('a pull for one job gets only that job\'s shards; the two volunteers each stuck on a job find work in the other', () => {
    const s = new Scheduler()
    s.addJob(job('a', 1, { canaryRate: 0 }))
    s.addJob(job('b', 1, { canaryRate: 0 }))
    // A computed a's first replica, B computed b's: each job now needs the other peer.
    const [a1] = s.pull('A', 1, T, { jobId: 'a' })
    const [b1] = s.pull('B', 1, T, { jobId: 'b' })
    expect([a1?.jobId, b1?.jobId]).toEqual(['a', 'b'])
    s.complete(a1!.leaseId, 'A', { outputHash: good(0) })
    s.complete(b1!.leaseId, 'B', { outputHash: good(0) })
    expect(s.pull('A', 5, T, { jobId: 'a' })).toEqual([])
    expect(s.pull('B', 5, T, { jobId: 'b' })).toEqual([])
    const [a2] = s.pull('A', 5, T, { jobId: 'b' })
    const [b2] = s.pull('B', 5, T, { jobId: 'a' })
    expect([a2?.jobId, b2?.jobId]).toEqual(['b', 'a'])
    expect(of(s.complete(a2!.leaseId, 'A', { outputHash: good(0) }), 'shard:accepted')).toHaveLength(1)
    expect(of(s.complete(b2!.leaseId, 'B', { outputHash: good(0) }), 'shard:accepted')).toHaveLength(1)
  })

  it('a requester that reloads hands out lease ids above its previous session\'s: an old result is unknown, not taken for a new lease', () => {
    // Session 1 (before the reload): A holds leases, then the tab reloads.
    const before = new Scheduler({ firstLease: leaseIdBase(T) })
    before.addJob(job('j', 4, { canaryRate: 0 }))
    const old = before.pull('A', 4, T)
    expect(old[0]!.leaseId).toBe(leaseIdBase(T))
    // Session 2, restored a second later: B answered shard 1 (say), A pulls again.
    const after = new Scheduler({ firstLease: leaseIdBase(T + 1_000) })
    after.addJob(job('j', 4, { canaryRate: 0 }))
    const fresh = after.pull('A', 4, T + 1_000)
    const ids = new Set(fresh.map(a => a.leaseId))
    expect(old.some(a => ids.has(a.leaseId))).toBe(false)
    // A hands in what it computed for the old leases: refused as unknown, and A may still answer every shard.
    for (const a of old) expect(of(after.complete(a.leaseId, 'A', { outputHash: good(a.shard) }), 'result:refused')).toHaveLength(1)
    for (const a of fresh) expect(of(after.complete(a.leaseId, 'A', { outputHash: good(a.shard) }), 'result:refused')).toEqual([])
    expect(leaseIdBase(Date.UTC(2200, 0, 1))).toBeLessThan(Number.MAX_SAFE_INTEGER)
  })

  it('caps leases per peer and honours the job deadline', () => {
    const s = new Scheduler({ maxLeasesPerPeer: 3 })
    s.addJob(job('j', 10, { replicas: 1, quorum: 1, canaryRate: 0, deadline: T + 10 }))
    expect(s.pull('A', 10, T)).toHaveLength(3)
    expect(s.pull('A', 10, T)).toHaveLength(0)
    expect(s.pull('B', 1, T)[0]!.deadline).toBe(T + 10)
    expect(s.pull('C', 1, T + 11)).toEqual([])
  })

  it('a peer that floods pulls and lets its leases run out gets no more work; one that hands work in keeps getting it', () => {
    const s = new Scheduler({ leaseMs: 1_000, maxLeasesPerPeer: 4 })
    s.addJob(job('j', 200, { canaryRate: 0 }))
    let now = T
    let taken = 0
    for (let round = 0; round < 10; round++) {
      taken += s.pull('F', 4, now).length
      now += 1_001
      s.expire(now)
      // An honest slow peer finishes one of its two leases each round.
      const [done] = s.pull('H', 2, now)
      if (done !== undefined) s.complete(done.leaseId, 'H', { outputHash: good(done.shard) })
    }
    // 4 leases per round until it has let more than 4 + 2 × 0 expire: two rounds, then nothing.
    expect(taken).toBe(8)
    expect(s.pull('F', 4, now)).toEqual([])
    expect(s.pull('H', 2, now).length).toBeGreaterThan(0)
  })

  it('a peer giving up reopens the shard for others at once, and for itself once its lease would have run out', () => {
    const s = new Scheduler({ leaseMs: 1000 })
    s.addJob(job('j', 1, { replicas: 1, quorum: 1, canaryRate: 0 }))
    const [a] = s.pull('A', 1, T)
    s.fail(a!.leaseId, 'A')
    expect(s.pull('A', 1, T)).toEqual([])
    const [b] = s.pull('B', 1, T)
    expect(b?.shard).toBe(0)
    s.fail(b!.leaseId, 'B')
    s.expire(T + 999)
    expect(s.pull('A', 1, T + 999)).toEqual([])
    s.expire(T + 1000)
    const [again] = s.pull('A', 1, T + 1000)
    expect(again?.shard).toBe(0)
    expect(of(s.complete(again!.leaseId, 'A', { outputHash: good(0) }), 'shard:accepted')[0]).toMatchObject({ credited: ['A'] })
    // B's give-up ran out too, but the shard is decided: nothing for B.
    expect(s.pull('B', 1, T + 1000)).toEqual([])
  })

  it('two volunteers, two replicas: one failing a shard once does not keep the job from finishing', () => {
    const s = new Scheduler({ leaseMs: 1000 })
    s.addJob(job('j', 2, { canaryRate: 0 }))
    const failed = s.pull('A', 2, T)
    s.fail(failed[0]!.leaseId, 'A')
    s.complete(failed[1]!.leaseId, 'A', { outputHash: good(failed[1]!.shard) })
    for (const b of s.pull('B', 2, T)) s.complete(b.leaseId, 'B', { outputHash: good(b.shard) })
    expect(s.progress('j')).toMatchObject({ accepted: 1, done: false })
    // Before, A was barred from that shard for good and B had answered it: no peer could ever finish it.
    s.expire(T + 1000)
    const [retry] = s.pull('A', 2, T + 1000)
    expect(retry?.shard).toBe(failed[0]!.shard)
    s.complete(retry!.leaseId, 'A', { outputHash: good(retry!.shard) })
    expect(s.progress('j')).toMatchObject({ accepted: 2, done: true })
  })
})

describe('give-ups', () => {
  it('a shard given up maxGiveUps times fails, with what the last peer said, and the job finishes without it', () => {
    const s = new Scheduler({ leaseMs: 1000 })
    s.addJob(job('j', 2, { replicas: 1, quorum: 1, canaryRate: 0 }))
    const events: SchedulerEvent[] = []
    for (const [p, error] of [['A', 'out of memory'], ['B', 'Reshape: cannot reshape'], ['C', 'Reshape: cannot reshape, said C']] as const) {
      for (const a of s.pull(p, 2, T)) {
        events.push(...(a.shard === 0 ? s.fail(a.leaseId, p, error) : s.complete(a.leaseId, p, { outputHash: good(1) })))
      }
    }
    expect(of(events, 'shard:failed')).toEqual([{
      type: 'shard:failed', jobId: 'j', shard: 0, failure: { kind: 'given-up', times: 3, error: 'Reshape: cannot reshape, said C' }
    }])
    expect(of(events, 'job:done')).toHaveLength(1)
    expect(s.progress('j')).toMatchObject({ accepted: 1, failed: 1, open: 0, done: true })
    // Failed for good: not handed out again, not even once the give-ups' leases have run out.
    s.expire(T + 5000)
    for (const p of ['A', 'B', 'C', 'D']) expect(s.pull(p, 1, T + 5000)).toEqual([])
  })

  it('a lone volunteer that always gives a shard up fails it after maxGiveUps lease times', () => {
    const s = new Scheduler({ leaseMs: 1000, maxGiveUps: 3 })
    s.addJob(job('j', 1, { replicas: 1, quorum: 1, canaryRate: 0 }))
    let now = T
    const failed: SchedulerEvent[] = []
    for (let round = 0; round < 3; round++) {
      s.expire(now)
      const [a] = s.pull('A', 1, now)
      expect(a?.shard).toBe(0)
      failed.push(...of(s.fail(a!.leaseId, 'A', 'no such input'), 'shard:failed'))
      expect(s.pull('A', 1, now)).toEqual([])
      now += 1000
    }
    expect(failed).toHaveLength(1)
    expect(s.progress('j')).toMatchObject({ failed: 1, done: true })
  })

  it('past the limit, no new lease is given, and the shard fails once the leases still out are back', () => {
    const s = new Scheduler({ leaseMs: 1000, maxGiveUps: 1 })
    s.addJob(job('j', 1, { canaryRate: 0 }))
    const [a] = s.pull('A', 1, T)
    const [b] = s.pull('B', 1, T)
    expect(of(s.fail(a!.leaseId, 'A', 'x'), 'shard:failed')).toEqual([])
    expect(s.pull('C', 1, T)).toEqual([])
    expect(s.progress('j')).toMatchObject({ failed: 0, inFlight: 1 })
    // B's result is one of the two replicas needed: not enough, and nobody else may take the shard.
    expect(of(s.complete(b!.leaseId, 'B', { outputHash: good(0) }), 'shard:failed')).toEqual([
      { type: 'shard:failed', jobId: 'j', shard: 0, failure: { kind: 'given-up', times: 1, error: 'x' } }
    ])
    expect(s.progress('j')).toMatchObject({ failed: 1, done: true })
  })

  it('a canary given up does not count toward failing a shard', () => {
    const s = new Scheduler({ leaseMs: 1000, maxGiveUps: 1, probationCanaryRate: 1 })
    s.addJob(job('j', 2, { replicas: 1, quorum: 1, canaryRate: 0.1 }, [1]))
    const [c] = s.pull('A', 1, T)
    expect(c).toMatchObject({ shard: 1, canary: true })
    expect(of(s.fail(c!.leaseId, 'A', 'x'), 'shard:failed')).toEqual([])
    expect(s.progress('j')).toMatchObject({ failed: 0, open: 1 })
  })

  it('a peer that gives up far more than it hands in gets no more work, as one that lets leases run out', () => {
    const s = new Scheduler({ leaseMs: 1000, maxLeasesPerPeer: 4, maxGiveUps: 100 })
    s.addJob(job('j', 40, { replicas: 1, quorum: 1, canaryRate: 0 }))
    let given = 0
    for (let round = 0; round < 10; round++) {
      for (const a of s.pull('G', 4, T)) { given++; s.fail(a.leaseId, 'G', 'no') }
    }
    // Served while its give-ups are at most maxLeasesPerPeer + 2 × completed (4): two pulls of four.
    expect(given).toBe(8)
    expect(s.pull('G', 4, T)).toEqual([])
    expect(s.pull('H', 4, T)).toHaveLength(4)
  })

  it('failed shards can be tried again, as if never tried: the peers that gave them up may take them', () => {
    const s = new Scheduler({ leaseMs: 1000, maxGiveUps: 2, maxExtraReplicas: 0 })
    s.addJob(job('j', 3, { canaryRate: 0 }))
    for (const p of ['A', 'B']) {
      for (const a of s.pull(p, 3, T)) {
        // Shard 0 is given up by both; shard 1 gets two different answers (no quorum, cap 2); shard 2 is fine.
        if (a.shard === 0) s.fail(a.leaseId, p, 'no memory')
        else s.complete(a.leaseId, p, { outputHash: a.shard === 1 ? `answer-of-${p}` : good(2) })
      }
    }
    expect(s.progress('j')).toMatchObject({ accepted: 1, failed: 2, done: true })
    expect(s.retryFailed('j', T).sort()).toEqual([0, 1])
    expect(s.retryFailed('nope', T)).toEqual([])
    expect(s.progress('j')).toMatchObject({ accepted: 1, failed: 0, open: 2, done: false })
    const events: SchedulerEvent[] = []
    for (const p of ['A', 'B']) {
      const got = s.pull(p, 3, T)
      expect(got.map(a => a.shard).sort()).toEqual([0, 1])
      for (const a of got) events.push(...s.complete(a.leaseId, p, { outputHash: good(a.shard) }))
    }
    expect(of(events, 'shard:accepted').map(e => e.shard).sort()).toEqual([0, 1])
    expect(of(events, 'job:done')).toHaveLength(1)
    expect(s.progress('j')).toMatchObject({ accepted: 3, failed: 0, done: true })
  })

  it('at its deadline a job ends: undecided shards fail (held ones too), accepted ones stay, and nothing is reopened after', () => {
    const s = new Scheduler({ leaseMs: 1000, probationCanaryRate: 0 })
    const deadline = T + 5000
    s.addJob(job('j', 5, { replicas: 2, quorum: 2, canaryRate: 0.5, deadline }, [4]))
    const one = (p: string, now = T): Assignment => {
      const [a] = s.pull(p, 1, now)
      expect(a, `${p} is given work`).toBeDefined()
      return a!
    }
    const answer = (p: string, a: Assignment): void => { s.complete(a.leaseId, p, { outputHash: good(a.shard) }) }
    // A and B pass the canary, then agree on shard 0: accepted.
    for (const p of ['A', 'B']) answer(p, one(p))
    for (const p of ['A', 'B']) { const a = one(p); expect(a.shard).toBe(0); answer(p, a) }
    // C and D, their canaries still out (never vetted), agree on shard 1: held.
    for (const p of ['C', 'D']) { expect(one(p).canary).toBe(true); const a = one(p); expect(a.shard).toBe(1); answer(p, a) }
    // A answers shard 2, which needs a second replica; shard 3 is untouched.
    const a2 = one('A')
    expect(a2.shard).toBe(2)
    answer('A', a2)
    expect(s.progress('j')).toMatchObject({ accepted: 1, held: 1, failed: 0 })
    // Leases handed out near the deadline end with it.
    const late = s.pull('E', 4, T + 4500)
    expect(late.length).toBeGreaterThan(0)
    expect(late.every(a => a.deadline === deadline)).toBe(true)
    expect(of(s.expire(deadline - 1), 'shard:failed')).toEqual([])
    const events = s.expire(deadline)
    const failed = of(events, 'shard:failed')
    expect(failed.map(e => e.shard).sort()).toEqual([1, 2, 3])
    expect(failed.every(e => e.failure.kind === 'deadline' && e.failure.at === deadline)).toBe(true)
    expect(of(events, 'job:done')).toHaveLength(1)
    expect(s.progress('j')).toMatchObject({ accepted: 1, failed: 3, held: 0, open: 0, inFlight: 0, done: true })
    // Ended for good: no work, no second job:done, and trying the failures again is refused.
    expect(s.expire(deadline + 1000)).toEqual([])
    expect(s.pull('F', 4, deadline)).toEqual([])
    expect(s.retryFailed('j', deadline)).toEqual([])
    expect(s.progress('j')).toMatchObject({ failed: 3, done: true })
  })

  it('leases cut short by their job\'s deadline do not count against their peer', () => {
    const s = new Scheduler({ leaseMs: 60_000, maxLeasesPerPeer: 2 })
    for (const [k, id] of ['a', 'b', 'c'].entries()) {
      s.addJob(job(id, 2, { replicas: 1, quorum: 1, canaryRate: 0, deadline: T + 1000 * (k + 1) }))
      expect(s.pull('E', 2, T + 1000 * k)).toHaveLength(2)
      s.expire(T + 1000 * (k + 1))
    }
    // Six leases lapsed unanswered, more than maxLeasesPerPeer + 2 × results: counted, E would be stalling.
    s.addJob(job('d', 2, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(s.pull('E', 2, T + 3000)).toHaveLength(2)
  })

  it('a job restored with shards that failed in an earlier session never hands them out', () => {
    const s = new Scheduler()
    s.addJob({ ...job('j', 3, { replicas: 1, quorum: 1, canaryRate: 0 }), settled: new Set([0]), failed: new Map([[1, { kind: 'given-up', times: 3, error: 'x' }]]) })
    expect(s.progress('j')).toMatchObject({ accepted: 1, failed: 1, open: 1, done: false })
    const [a] = s.pull('A', 3, T).map(x => x.shard)
    expect(a).toBe(2)
    const s2 = new Scheduler()
    s2.addJob({ ...job('j', 2, { replicas: 1, quorum: 1, canaryRate: 0 }), settled: new Set([0]), failed: new Map([[1, { kind: 'no-quorum', replicas: 8 }]]) })
    expect(s2.progress('j')).toMatchObject({ done: true })
    expect(() => { new Scheduler().addJob({ ...job('k', 2), failed: new Map([[1, { kind: 'no-quorum', replicas: 8 }]]), reverifying: new Map([[1, { revision: 1, peer: 'X' }]]) }) }).toThrow(RangeError)
  })
})

describe('replicas', () => {
  it('never gives one peer a shard it answered or holds, under any interleaving (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.boolean()), { maxLength: 80 }), fc.integer(), (steps, seed) => {
      const s = new Scheduler({ seed, leaseMs: 5 })
      s.addJob(job('j', 6, { replicas: 3, quorum: 2 }, [4, 5]))
      const answered = new Set<string>()
      const held = new Map<string, number>() // peer:shard → lease deadline
      let now = T
      for (const [p, cap, answer] of steps) {
        now += 2
        s.expire(now)
        for (const a of s.pull(`P${p}`, cap, now)) {
          const key = `${p}:${a.shard}`
          expect(answered.has(key)).toBe(false)
          expect((held.get(key) ?? 0) > now).toBe(false)
          held.set(key, a.deadline)
          if (!answer) continue
          s.complete(a.leaseId, `P${p}`, { outputHash: p === 0 ? bad(a.shard) : good(a.shard) })
          answered.add(key)
          held.delete(key)
        }
      }
    }), { numRuns: 150 })
  })

  it('accepts a quorum, credits it and asks for more replicas on disagreement', () => {
    const s = new Scheduler()
    s.addJob(job('j', 1, { canaryRate: 0 }))
    expect(of(work(s, 'A', 1), 'shard:accepted')).toEqual([])
    expect(of(work(s, 'X', 1, () => true), 'shard:accepted')).toEqual([])
    expect(s.progress('j')).toMatchObject({ accepted: 0, open: 1 })
    // 1 vs 1: the leader must lead by a full quorum (2), so two more agreeing replicas are needed.
    expect(of(work(s, 'B', 1), 'shard:accepted')).toEqual([])
    const [accepted] = of(work(s, 'C', 1), 'shard:accepted')
    expect(accepted).toMatchObject({ outputHash: good(0), credited: ['A', 'B', 'C'], rejected: ['X'], revision: 0 })
    expect(s.progress('j')).toMatchObject({ accepted: 1, done: true })
    expect(s.standing('X')?.rejections).toBe(1)
  })

  it('colluders agreeing on one wrong answer lose to an honest quorum that leads them', () => {
    for (const order of ['XAYBCD', 'AXBYCD', 'ABXY', 'AXBCYD', 'XABYZCDE']) {
      const s = new Scheduler()
      s.addJob(job('j', 1, { canaryRate: 0 }))
      const accepted = [...order].flatMap(p => of(work(s, p, 1, () => 'XYZ'.includes(p)), 'shard:accepted'))
      expect(accepted.every(e => e.outputHash === good(0))).toBe(true)
    }
  })

  it('fails a shard that cannot reach quorum within the replica cap', () => {
    const s = new Scheduler({ maxExtraReplicas: 2 })
    s.addJob(job('j', 1, { canaryRate: 0 }))
    const events: SchedulerEvent[] = []
    for (const p of ['A', 'B', 'C', 'D', 'E']) {
      for (const a of s.pull(p, 1, T)) events.push(...s.complete(a.leaseId, p, { outputHash: `answer-of-${p}` }))
    }
    expect(of(events, 'shard:failed')).toEqual([{ type: 'shard:failed', jobId: 'j', shard: 0, failure: { kind: 'no-quorum', replicas: 4 } }])
    expect(s.pull('E', 1, T)).toEqual([])
    expect(s.progress('j')).toMatchObject({ failed: 1, done: true })
  })

  it('groups non-exact outputs with the injected comparator', () => {
    const out = (x: number): TensorMap => ({ y: makeTensor('float32', [1, 2], [x, 1 - x]) })
    const s = new Scheduler<TensorMap>({ comparator: (rule, a, b) => compareOutputs(rule, a, b).equal })
    s.addJob({ jobId: 'j', requester: 'r', shards: 1, policy: policy({ canaryRate: 0, compare: { kind: 'argmax' } }) })
    const [a] = s.pull('A', 1, T)
    s.complete(a!.leaseId, 'A', { outputHash: 'h1', output: out(0.9) })
    const [b] = s.pull('B', 1, T)
    expect(of(s.complete(b!.leaseId, 'B', { outputHash: 'h2', output: out(0.8) }), 'shard:accepted')[0])
      .toMatchObject({ outputHash: 'h1', credited: ['A', 'B'] })
    // Under `exact` the comparator is never consulted: different hashes disagree.
    const e = new Scheduler<TensorMap>({ comparator: () => true })
    e.addJob({ jobId: 'j', requester: 'r', shards: 1, policy: policy({ canaryRate: 0 }) })
    for (const [p, h] of [['A', 'h1'], ['B', 'h2']] as const) {
      const [x] = e.pull(p, 1, T)
      expect(of(e.complete(x!.leaseId, p, { outputHash: h, output: out(0.5) }), 'shard:accepted')).toEqual([])
    }
  })
})

describe('canaries', () => {
  it('starts an unvetted peer with a canary, marks a liar faulty and stops serving it', () => {
    const s = new Scheduler()
    s.addJob(job('j', 20, {}, [0, 1, 2]))
    const [first] = s.pull('X', 1, T)
    expect(first?.canary).toBe(true)
    const events = s.complete(first!.leaseId, 'X', { outputHash: 'wrong' })
    expect(of(events, 'peer:faulty')).toEqual([{ type: 'peer:faulty', peer: 'X', jobId: 'j', shard: first!.shard }])
    expect(s.pull('X', 4, T)).toEqual([])
    expect(s.standing('X')).toMatchObject({ faulty: true, vetted: false, trusted: false })
  })

  it('holds a verdict until every credited peer has passed a canary', () => {
    const s = new Scheduler({ probationCanaryRate: 0 })
    s.addJob(job('j', 3, { canaryRate: 0 }, [2]))
    const a = s.pull('A', 2, T)
    const b = s.pull('B', 2, T)
    expect(a.map(x => x.canary)).toEqual([true, false])
    const answer = (peer: string, list: Assignment[], i: number): SchedulerEvent[] => s.complete(list[i]!.leaseId, peer, { outputHash: good(list[i]!.shard) })
    expect(answer('A', a, 1)).toEqual([])
    expect(answer('B', b, 1)).toEqual([])
    expect(s.progress('j')).toMatchObject({ held: 1, accepted: 0 })
    expect(of(answer('A', a, 0), 'shard:accepted')).toEqual([])
    const accepted = of(answer('B', b, 0), 'shard:accepted')
    expect(accepted).toHaveLength(1)
    expect(accepted[0]!.credited.sort()).toEqual(['A', 'B'])
  })

  it('a peer whose canary lease ran out is given a canary again, even once no shard is open, so its held verdicts are decided', () => {
    // The churn e2e: A's first canary was lost with its connection; A and B then answered every shard.
    const s = new Scheduler({ leaseMs: 1000, probationCanaryRate: 0 })
    s.addJob(job('j', 3, { canaryRate: 0 }, [2]))
    const b = s.pull('B', 1, T)
    expect(b[0]?.canary).toBe(true)
    s.complete(b[0]!.leaseId, 'B', { outputHash: good(2) })
    const a = s.pull('A', 3, T)
    expect(a.map(x => x.canary)).toEqual([true, false, false])
    s.expire(T + 1000)
    const a2 = s.pull('A', 3, T + 1001)
    // Its shards were lost too: A is given them again (the one canary of the job is in flight once more).
    expect(a2.map(x => [x.canary, x.shard])).toEqual([[true, 2], [false, 0], [false, 1]])
    for (const x of a2.slice(1)) s.complete(x.leaseId, 'A', { outputHash: good(x.shard) })
    for (const x of s.pull('B', 3, T + 1001)) s.complete(x.leaseId, 'B', { outputHash: good(x.shard) })
    expect(s.progress('j')).toMatchObject({ held: 2, open: 0, accepted: 0 })
    // The canary is lost again; with no shard open, A still gets it back, and passing it decides the held verdicts.
    s.expire(T + 2001)
    const [canary] = s.pull('A', 3, T + 2002)
    expect(canary).toMatchObject({ canary: true, shard: 2 })
    expect(of(s.complete(canary!.leaseId, 'A', { outputHash: good(2) }), 'shard:accepted')).toHaveLength(2)
    expect(s.progress('j')).toMatchObject({ accepted: 2, done: true })
  })

  it('a vetted peer gets nothing once no shard is open, held verdicts or not', () => {
    const s = new Scheduler({ probationCanaryRate: 0 })
    s.addJob(job('j', 2, { canaryRate: 0 }, [1]))
    const [canary, shard] = s.pull('A', 2, T)
    s.complete(shard!.leaseId, 'A', { outputHash: good(0) })
    const [other] = s.pull('B', 1, T)
    expect(other?.canary).toBe(true)
    s.complete(other!.leaseId, 'B', { outputHash: good(1) })
    expect(s.pull('B', 1, T).map(x => x.shard)).toEqual([0])
    expect(canary?.canary).toBe(true)
    expect(s.pull('B', 1, T)).toEqual([])
  })

  it('colluders who always lie are never accepted, whatever the arrival order (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 200 }), fc.integer(), (order, seed) => {
      const s = new Scheduler({ seed })
      s.addJob(job('j', 12, {}, [0, 1, 2, 3]))
      for (const p of order) {
        for (const e of of(work(s, `P${p}`, 2, () => p < 3), 'shard:accepted')) expect(e.outputHash).toBe(good(e.shard))
      }
    }), { numRuns: 150 })
  })

  it('re-verifies accepted work of a peer that later fails a canary', () => {
    // Canaries only on probation in job j, so what X is given there is deterministic.
    const s = new Scheduler({ probationCanaryRate: 0, trustAfter: 1, agreeAfter: 0, singleReplicaRate: 1, auditRate: 0 })
    s.addJob(job('j', 40, { canaryRate: 0 }, [0, 1, 2, 3]))
    const [probation] = s.pull('X', 1, T)
    expect(probation?.canary).toBe(true)
    s.complete(probation!.leaseId, 'X', { outputHash: good(probation!.shard) })
    expect(s.standing('X')).toMatchObject({ vetted: true, trusted: true })
    // Trusted X gets single replicas and lies on them: accepted for now.
    const wrong = of(work(s, 'X', 2, () => true), 'shard:accepted')
    expect(wrong).toHaveLength(2)
    expect(wrong.every(e => e.outputHash.startsWith('bad') && e.credited.join() === 'X')).toBe(true)
    // A second job gives canaries at rate 1; X's next canary answer is wrong.
    s.addJob(job('k', 2, { canaryRate: 1 }, [0]))
    const later: SchedulerEvent[] = []
    for (let i = 0; i < 10 && !later.some(e => e.type === 'peer:faulty'); i++) {
      later.push(...work(s, 'X', 1, a => a.canary))
    }
    expect(of(later, 'peer:faulty')).toHaveLength(1)
    const reverified = of(later, 'shard:reverify').map(e => e.shard)
    for (const w of wrong) expect(reverified).toContain(w.shard)
    // Everything X had accepted in j (lies and honest singles alike) is reopened.
    expect(s.progress('j')).toMatchObject({ accepted: 0 })
    // Honest peers re-verify: each reopened shard gets a fresh replica and is accepted again, revision 1, X rejected.
    const again: SchedulerEvent[] = []
    for (let round = 0; round < 40; round++) for (const p of ['A', 'B', 'C', 'D']) again.push(...work(s, p, 2))
    for (const w of wrong) {
      const final = of(again, 'shard:accepted').filter(e => e.jobId === 'j' && e.shard === w.shard)
      expect(final).toHaveLength(1)
      expect(final[0]).toMatchObject({ outputHash: good(w.shard), revision: 1 })
      expect(final[0]!.rejected).toContain('X')
      expect(final[0]!.credited).not.toContain('X')
    }
    expect(s.progress('j')).toMatchObject({ done: true, failed: 0 })
  })
})

describe('restored state (a requester reload)', () => {
  it('a shard reopened before the reload is re-verified afresh after it, never by the peer that caused it; settled shards stay settled', () => {
    const init = { probationCanaryRate: 0, trustAfter: 1, agreeAfter: 0, singleReplicaRate: 1, auditRate: 0 }
    const spec = job('j', 40, { canaryRate: 0 }, [0, 1, 2, 3])
    // What the requester stores per shard: the accepted answer, and the mark while it is re-verified.
    const rows = new Map<number, { outputHash: string, credited: string[], revision: number, reverify?: Reverifying }>()
    const store = (events: SchedulerEvent[]): void => {
      for (const e of events) {
        if (e.type === 'shard:accepted' && e.jobId === 'j') rows.set(e.shard, { outputHash: e.outputHash, credited: e.credited, revision: e.revision })
        if (e.type === 'shard:reverify' && e.jobId === 'j') rows.get(e.shard)!.reverify = { revision: e.revision, peer: e.peer }
      }
    }
    const s1 = new Scheduler(init)
    s1.addJob(spec)
    // A is vetted and trusted, and gets honest single replicas accepted; X gets its lies accepted the same way.
    for (const p of ['A', 'X']) {
      const [probation] = s1.pull(p, 1, T)
      s1.complete(probation!.leaseId, p, { outputHash: good(probation!.shard) })
    }
    store(work(s1, 'A', 3))
    store(work(s1, 'X', 2, () => true))
    // X fails a canary in another job: its accepted lies in j are reopened, then the tab reloads.
    s1.addJob(job('k', 2, { canaryRate: 1 }, [0]))
    for (let i = 0; i < 10 && s1.standing('X')?.faulty !== true; i++) store(work(s1, 'X', 1, a => a.canary))
    const reopened = [...rows].filter(([, r]) => r.reverify !== undefined).map(([shard]) => shard)
    const settled = [...rows].filter(([, r]) => r.reverify === undefined).map(([shard]) => shard)
    // Everything X had accepted in j (its lies, and what it did right on the way to its canary) is reopened; A's work is not.
    expect(reopened.length).toBeGreaterThanOrEqual(2)
    expect(reopened.sort()).toEqual([...rows].filter(([, r]) => r.credited.includes('X')).map(([shard]) => shard).sort())
    expect(settled).toHaveLength(3)
    for (const shard of reopened) expect(rows.get(shard)!.reverify).toEqual({ revision: 1, peer: 'X' })

    const s2 = new Scheduler(init)
    s2.addJob({ ...spec, settled: new Set(settled), reverifying: new Map(reopened.map(shard => [shard, rows.get(shard)!.reverify!])) })
    expect(s2.progress('j')).toMatchObject({ accepted: 3, open: 36 - 3, done: false })
    // Even where X is not restored as faulty (knownFaulty, next test): it passes a canary and pulls on, but never gets a reopened shard.
    const toX: number[] = []
    const after: SchedulerEvent[] = []
    for (let round = 0; round < 40; round++) {
      for (const p of ['X', 'B', 'C', 'D']) {
        for (const a of s2.pull(p, 2, T)) {
          if (p === 'X') toX.push(a.shard)
          after.push(...s2.complete(a.leaseId, p, { outputHash: p === 'X' && !a.canary ? bad(a.shard) : good(a.shard) }))
        }
      }
    }
    for (const shard of reopened) expect(toX).not.toContain(shard)
    const accepted = of(after, 'shard:accepted')
    for (const shard of settled) expect(accepted.filter(e => e.shard === shard)).toEqual([])
    for (const shard of reopened) {
      // Decided by the re-verification alone: a full set of fresh replicas, the right answer, the next revision.
      const final = accepted.filter(e => e.shard === shard)
      expect(final).toHaveLength(1)
      expect(final[0]).toMatchObject({ outputHash: good(shard), revision: 1 })
      expect(final[0]!.credited).toHaveLength(2)
      expect(final[0]!.credited).not.toContain('X')
    }
    expect(s2.progress('j')).toMatchObject({ accepted: 36, done: true })
  })

  it('a peer caught before the reload and restored as known faulty gets no work after it, others do', () => {
    const s = new Scheduler({ probationCanaryRate: 1 })
    s.addJob(job('j', 20, { canaryRate: 0.2 }, [0, 1, 2, 3]))
    s.knownFaulty('X')
    expect(s.standing('X')).toMatchObject({ faulty: true, trusted: false })
    for (let round = 0; round < 5; round++) expect(s.pull('X', 4, T)).toEqual([])
    expect(s.pull('A', 4, T).length).toBeGreaterThan(0)
  })

  it('refuses restored state that cannot be (programmer error)', () => {
    const s = new Scheduler()
    const again = { revision: 1, peer: 'X' }
    expect(() => { s.addJob({ ...job('a', 4, {}, [0]), reverifying: new Map([[0, again]]) }) }).toThrow(RangeError)
    expect(() => { s.addJob({ ...job('b', 4), reverifying: new Map([[4, again]]) }) }).toThrow(RangeError)
    expect(() => { s.addJob({ ...job('c', 4), settled: new Set([1]), reverifying: new Map([[1, again]]) }) }).toThrow(RangeError)
    expect(() => { s.addJob({ ...job('d', 4), reverifying: new Map([[1, { revision: 0, peer: 'X' }]]) }) }).toThrow(RangeError)
  })
})

describe('audits and outvoted peers', () => {
  /** A scheduler where X is trusted after one canary and two agreements, with single replicas always given to it. */
  function trustedX (init: { auditRate: number }): Scheduler {
    const s = new Scheduler({ probationCanaryRate: 0, trustAfter: 1, agreeAfter: 2, singleReplicaRate: 1, ...init })
    s.addJob(job('j', 60, { canaryRate: 0 }, [0, 1, 2, 3]))
    const [probation] = s.pull('X', 1, T)
    s.complete(probation!.leaseId, 'X', { outputHash: good(probation!.shard) })
    // Vetted, but not trusted before two replicated results agreed with others.
    expect(s.standing('X')).toMatchObject({ vetted: true, trusted: false })
    for (const p of ['A', 'B']) {
      const [c] = s.pull(p, 1, T)
      s.complete(c!.leaseId, p, { outputHash: good(c!.shard) })
    }
    for (let i = 0; i < 2; i++) {
      work(s, 'X', 1)
      for (const p of ['A', 'B']) work(s, p, 1)
    }
    expect(s.standing('X')).toMatchObject({ trusted: true })
    return s
  }

  it('a peer is trusted only after agreeing with others on replicated results', () => {
    const s = new Scheduler({ probationCanaryRate: 0, trustAfter: 1, agreeAfter: 3, singleReplicaRate: 1, auditRate: 0 })
    s.addJob(job('j', 20, { canaryRate: 0 }, [0]))
    const [probation] = s.pull('X', 1, T)
    s.complete(probation!.leaseId, 'X', { outputHash: good(probation!.shard) })
    // Vetted after its canary, yet every shard it pulls still needs a second replica.
    work(s, 'X', 4)
    expect(s.progress('j')).toMatchObject({ accepted: 0 })
    expect(s.standing('X')).toMatchObject({ vetted: true, trusted: false })
  })

  it('audits single-replica results: held for a second replica before any verdict', () => {
    const s = trustedX({ auditRate: 1 })
    const events = work(s, 'X', 2)
    expect(of(events, 'shard:audit')).toHaveLength(2)
    expect(of(events, 'shard:accepted')).toEqual([])
    const after = work(s, 'A', 2)
    expect(of(after, 'shard:accepted').map(e => e.credited.sort())).toEqual([['A', 'X'], ['A', 'X']])
  })

  it('a trusted peer outvoted once loses trust, and its accepted single replicas are re-verified', () => {
    const s = trustedX({ auditRate: 0 })
    // Lies on single replicas, never audited: accepted for now.
    const lies = of(work(s, 'X', 2, () => true), 'shard:accepted')
    expect(lies.map(e => [e.outputHash.startsWith('bad'), e.credited])).toEqual([[true, ['X']], [true, ['X']]])
    // A newcomer's shard needs two replicas (after its probation canary); X is given the second one and lies.
    work(s, 'N', 1)
    const [shared] = s.pull('N', 1, T)
    const [second] = s.pull('X', 1, T)
    expect(second?.shard).toBe(shared?.shard)
    s.complete(second!.leaseId, 'X', { outputHash: bad(second!.shard) })
    const later = s.complete(shared!.leaseId, 'N', { outputHash: good(shared!.shard) })
    // Honest peers break the tie and outvote X: every lie it got accepted is reopened.
    for (let round = 0; round < 30; round++) for (const p of ['A', 'B', 'C', 'D']) later.push(...work(s, p, 2))
    expect(s.standing('X')).toMatchObject({ trusted: false, faulty: false })
    expect(s.standing('X')!.rejections).toBeGreaterThanOrEqual(1)
    const reverified = of(later, 'shard:reverify').filter(e => e.peer === 'X').map(e => e.shard)
    for (const l of lies) expect(reverified).toContain(l.shard)
    for (const l of lies) {
      const final = of(later, 'shard:accepted').filter(e => e.shard === l.shard).at(-1)
      expect(final).toMatchObject({ outputHash: good(l.shard), revision: 1 })
    }
    expect(s.progress('j')).toMatchObject({ done: true, failed: 0 })
  })

  it('a single replica leased while its peer was trusted, handed in after it was outvoted, needs a second replica', () => {
    const s = trustedX({ auditRate: 0 })
    // X takes a single replica while trusted, and keeps it while it is outvoted on another shard.
    const [single] = s.pull('X', 1, T)
    work(s, 'N', 1)
    const [shared] = s.pull('N', 1, T)
    const [second] = s.pull('X', 1, T)
    s.complete(second!.leaseId, 'X', { outputHash: bad(second!.shard) })
    s.complete(shared!.leaseId, 'N', { outputHash: good(shared!.shard) })
    for (let round = 0; round < 3; round++) for (const p of ['A', 'B']) work(s, p, 1)
    expect(s.standing('X')).toMatchObject({ trusted: false })
    // Its lie on the single replica is not accepted on its word alone; honest replicas decide.
    const events = s.complete(single!.leaseId, 'X', { outputHash: bad(single!.shard) })
    expect(of(events, 'shard:accepted').filter(e => e.shard === single!.shard)).toEqual([])
    const later: SchedulerEvent[] = []
    for (let round = 0; round < 30; round++) for (const p of ['A', 'B', 'C', 'D']) later.push(...work(s, p, 2))
    const final = of(later, 'shard:accepted').filter(e => e.shard === single!.shard).at(-1)
    expect(final).toMatchObject({ outputHash: good(single!.shard) })
    expect(final!.credited).not.toContain('X')
  })
})

describe('adaptive replication', () => {
  function run (adaptive: boolean): { results: number, shards: number, single: number } {
    const s = new Scheduler({ seed: 7, trustAfter: 2 })
    s.addJob({ ...job('j', 600, { canaryRate: 0.05 }, Array.from({ length: 40 }, (_, i) => i)), adaptive })
    let canaryToTrusted = 0
    for (let round = 0; round < 200 && !s.progress('j')!.done; round++) {
      for (let p = 0; p < 10; p++) {
        const trusted = s.standing(`P${p}`)?.trusted ?? false
        for (const a of s.pull(`P${p}`, 2, T)) {
          if (a.canary && trusted) canaryToTrusted++
          s.complete(a.leaseId, `P${p}`, { outputHash: good(a.shard) })
        }
      }
    }
    const prog = s.progress('j')!
    expect(prog.done).toBe(true)
    if (adaptive) expect(canaryToTrusted).toBeGreaterThan(0)
    return { results: prog.results, shards: prog.shards, single: 0 }
  }

  it('gives trusted peers single replicas, lowering the replication factor; off, every shard gets all replicas', () => {
    const on = run(true)
    const off = run(false)
    expect(off.results).toBe(2 * off.shards)
    expect(on.results / on.shards).toBeLessThan(1.3)
  })
})

describe('fair share', () => {
  it('splits assignments between requesters, however many jobs and shards each has', () => {
    const s = new Scheduler()
    for (let j = 0; j < 10; j++) s.addJob(job(`big${j}`, 100, { replicas: 1, quorum: 1, canaryRate: 0 }, [], 'big'))
    s.addJob(job('small', 10, { replicas: 1, quorum: 1, canaryRate: 0 }, [], 'small'))
    const got: string[] = []
    for (let p = 0; p < 5; p++) got.push(...s.pull(`P${p}`, 4, T).map(a => a.jobId))
    expect(got.filter(j => j === 'small')).toHaveLength(10)
    // Within a requester, jobs rotate too.
    expect(new Set(got.filter(j => j !== 'small')).size).toBe(10)
  })

  /** A scheduler where `peers` have each pulled and handed in a result a second before `T` (so they count as working at `T`). */
  function worked (peers: string[]): Scheduler {
    const s = new Scheduler({ leaseMs: 30_000 })
    s.addJob(job('warm', peers.length, { replicas: 1, quorum: 1, canaryRate: 0 }))
    for (const p of peers) for (const a of s.pull(p, 1, T - 1_000, { jobId: 'warm' })) s.complete(a.leaseId, p, { outputHash: good(a.shard) })
    return s
  }

  it('splits a job among the volunteers working for the requester: the first to pull a small one does not take it all', () => {
    const s = worked(['A', 'B'])
    s.addJob(job('j', 8, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(s.pull('A', 17, T, { jobId: 'j' })).toHaveLength(4)
    expect(s.pull('B', 17, T, { jobId: 'j' })).toHaveLength(4)
    // Past its share, a pull still gets one shard while any is open (the peer may hold leases it never heard of).
    const more = worked(['A', 'B'])
    more.addJob(job('j', 8, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(more.pull('A', 17, T, { jobId: 'j' })).toHaveLength(4)
    expect(more.pull('A', 17, T, { jobId: 'j' })).toHaveLength(1)
    expect(more.pull('B', 17, T, { jobId: 'j' })).toHaveLength(3)
    expect(more.pull('A', 17, T, { jobId: 'j' })).toEqual([])
    // Alone, a volunteer takes what it asks for, as before.
    const alone = worked(['A'])
    alone.addJob(job('j', 8, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(alone.pull('A', 17, T, { jobId: 'j' })).toHaveLength(8)
  })

  it('counts only peers that pulled within a lease period, have handed in a result and have not left', () => {
    const s = worked(['A', 'B', 'C'])
    // D pulls without ever handing anything in: it shrinks nobody's share.
    s.addJob(job('j', 12, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(s.pull('D', 1, T, { jobId: 'j' })).toHaveLength(1)
    s.removePeer('C')
    // Counted again a second later, only A and B are working (C left, D never handed in): half of 12 each.
    expect(s.pull('A', 17, T + 1_000, { jobId: 'j' })).toHaveLength(6)
    expect(s.pull('B', 17, T + 1_000, { jobId: 'j' })).toHaveLength(5) // the rest: D holds one
    // B last pulled a lease period ago: A works alone and takes what it asks for.
    const idle = worked(['A', 'B'])
    idle.addJob(job('k', 8, { replicas: 1, quorum: 1, canaryRate: 0 }))
    expect(idle.pull('A', 17, T - 1_000 + 30_000, { jobId: 'k' })).toHaveLength(8)
  })

  it('gives a pull at least one shard while any is open, however many share the job', () => {
    const peers = Array.from({ length: 10 }, (_, i) => `P${i}`)
    const s = worked(peers)
    s.addJob(job('j', 3, { replicas: 1, quorum: 1, canaryRate: 0 }))
    const got = peers.map(p => s.pull(p, 8, T, { jobId: 'j' }).length)
    expect(got).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
  })
})
