/**
 * A simulated swarm in one process: hundreds of volunteers pulling from one
 * requester that runs the REAL scheduler (src/core/scheduler.ts) and the real
 * decision rule, over a simulated network with latency, message loss and
 * churn (discrete events on a simulated clock, so a run is reproducible from
 * its seed and takes no wall-clock waiting).
 *
 * Byzantine peers collude: all of them give the same wrong answer for a
 * shard (`bad-<shard>`), with probability `lieRate` per assignment, canaries
 * included (they cannot tell canaries apart). Honest peers answer
 * `good-<shard>`, which is also every canary's known answer. Outputs are
 * compared by hash (`exact`); the comparator path is covered by unit tests.
 *
 * Messages counted: pull requests, assignment replies, results, and
 * cancellations; lost messages are counted too (they were sent).
 *
 * Gossip counted apart, as what every peer receives and checks (gossipsub
 * delivers each message once to every subscriber, which opens it before
 * forwarding it): an attestation per result computed, a receipt per verdict,
 * and each peer's presence heartbeat (at the interval a peer listing the
 * others uses, src/net/pace.ts `swarmInterval`).
 */
import { Scheduler, type Assignment, type SchedulerEvent } from '../../src/core/scheduler.ts'
import { seededRng, type Rng } from '../../src/core/rng.ts'
import type { JobPolicy } from '../../src/core/schemas.ts'
import { swarmInterval } from '../../src/net/pace.ts'
import { PRESENCE_INTERVAL_MS } from '../../src/net/constants.ts'

export interface SimConfig {
  peers: number
  /** Real (non-canary) shards in the job. */
  shards: number
  /** Canary shards added to the manifest. */
  canaries: number
  byzantine: number
  /** Probability that a byzantine peer lies on a given assignment. */
  lieRate: number
  policy: JobPolicy
  /** One-way latency range, ms. */
  latencyMs: [number, number]
  /** Probability that any one message is lost. */
  loss: number
  /** Mean time a peer stays before leaving (exponential), ms; Infinity for no churn. A leaver is replaced by a new peer. */
  meanSessionMs: number
  /** Per-shard compute time range, ms (each peer draws its own speed). */
  computeMs: [number, number]
  capacity: number
  leaseMs: number
  seed: number
  /** Give up after this much simulated time, ms. */
  maxSimMs: number
}

export const SIM_DEFAULTS: SimConfig = {
  peers: 300,
  shards: 6000,
  canaries: 200,
  byzantine: 0,
  lieRate: 1,
  policy: { replicas: 2, quorum: 2, compare: { kind: 'exact' }, canaryRate: 0.05, deadline: Number.MAX_SAFE_INTEGER },
  latencyMs: [20, 120],
  loss: 0.01,
  meanSessionMs: 30 * 60_000,
  computeMs: [150, 600],
  capacity: 2,
  leaseMs: 20_000,
  seed: 1,
  maxSimMs: 6 * 3600_000
}

export interface SimResult {
  peers: number
  shards: number
  /** Simulated ms from start to the job being done (or maxSimMs if it never was). */
  completionMs: number
  done: boolean
  /** Shards whose final verdict is a wrong answer. */
  wrongAccepted: number
  failed: number
  /** Results on real shards ÷ real shards. */
  replicationFactor: number
  /** All results, canaries included ÷ real shards. */
  workFactor: number
  messagesPerShard: number
  /** Attestations and receipts gossiped ÷ real shards (each reaches every peer). */
  gossipPerShard: number
  /** Gossip messages each peer receives and checks per second: attestations, receipts and presence heartbeats. */
  gossipChecksPerPeerS: number
  /** `peer:faulty` events (a byzantine peer that leaves and rejoins is a new peer, and can be caught again). */
  faultyDetected: number
  /** Of those, peers that never lied: false accusations. */
  honestFlagged: number
  /** Byzantine peers at the start. */
  byzantinePeers: number
  /** Scheduler calls made (pulls + completions + expiries). */
  decisions: number
}

interface Peer {
  id: string
  byzantine: boolean
  speed: number
  alive: boolean
  /** Bumped when the peer leaves so its pending events are dropped. */
  epoch: number
}

type SimEvent =
  | { kind: 'pull-arrives', peer: Peer, epoch: number }
  | { kind: 'assignments-arrive', peer: Peer, epoch: number, work: Assignment[] }
  | { kind: 'result-arrives', peer: Peer, epoch: number, a: Assignment, hash: string }
  | { kind: 'peer-idle', peer: Peer, epoch: number }
  | { kind: 'leave', peer: Peer, epoch: number }
  | { kind: 'tick' }

/** Binary min-heap of timed events; ties broken by insertion order so runs are reproducible. */
class Agenda {
  private readonly items: Array<{ t: number, n: number, e: SimEvent }> = []
  private n = 0
  get size (): number { return this.items.length }
  push (t: number, e: SimEvent): void {
    const items = this.items
    items.push({ t, n: this.n++, e })
    let i = items.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(items[i]!, items[p]!)) break
      ;[items[i], items[p]] = [items[p]!, items[i]!]
      i = p
    }
  }

  pop (): { t: number, e: SimEvent } | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined) return undefined
    if (items.length > 0) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && less(items[l]!, items[m]!)) m = l
        if (r < items.length && less(items[r]!, items[m]!)) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m]!, items[i]!]
        i = m
      }
    }
    return top
  }
}

function less (a: { t: number, n: number }, b: { t: number, n: number }): boolean {
  return a.t < b.t || (a.t === b.t && a.n < b.n)
}

/** Runs one simulated job to completion (or maxSimMs) and reports what happened. */
export function simulate (overrides: Partial<SimConfig> = {}): SimResult {
  const cfg: SimConfig = { ...SIM_DEFAULTS, ...overrides }
  const rng: Rng = seededRng(cfg.seed ^ 0x5eed)
  const sched = new Scheduler({ seed: cfg.seed, leaseMs: cfg.leaseMs, maxLeasesPerPeer: Math.max(4, cfg.capacity * 2) })
  const total = cfg.shards + cfg.canaries
  // Canaries are spread through the manifest so their indices say nothing.
  const canaryIdx = new Set<number>()
  while (canaryIdx.size < cfg.canaries) canaryIdx.add(rng.int(total))
  sched.addJob({
    jobId: 'sim', requester: 'requester', shards: total, policy: cfg.policy,
    canaries: new Map([...canaryIdx].map(i => [i, { outputHash: `good-${i}` }]))
  })

  const agenda = new Agenda()
  const between = ([lo, hi]: [number, number]): number => lo + rng.next() * (hi - lo)
  const lost = (): boolean => rng.next() < cfg.loss
  let messages = 0
  let gossiped = 0
  let decisions = 0
  let nextPeer = 0
  const final = new Map<number, string>()
  let faulty = 0
  let honestFlagged = 0
  const byzantineIds = new Set<string>()
  let doneAt = -1

  const join = (now: number, byzantine: boolean): void => {
    const peer: Peer = { id: `peer-${nextPeer++}`, byzantine, speed: between(cfg.computeMs), alive: true, epoch: 0 }
    if (byzantine) byzantineIds.add(peer.id)
    agenda.push(now + between([0, 2000]), { kind: 'peer-idle', peer, epoch: 0 })
    if (Number.isFinite(cfg.meanSessionMs)) agenda.push(now - Math.log(1 - rng.next()) * cfg.meanSessionMs, { kind: 'leave', peer, epoch: 0 })
  }
  const nByz = Math.round(cfg.peers * cfg.byzantine)
  for (let i = 0; i < cfg.peers; i++) join(0, i < nByz)
  agenda.push(1000, { kind: 'tick' })

  const onEvents = (events: SchedulerEvent[], now: number): void => {
    for (const e of events) {
      // Each verdict's receipt is gossiped.
      if (e.type === 'shard:accepted') { final.set(e.shard, e.outputHash); gossiped++ }
      else if (e.type === 'shard:reverify') final.delete(e.shard)
      else if (e.type === 'peer:faulty') { faulty++; if (!byzantineIds.has(e.peer)) honestFlagged++ }
      else if (e.type === 'lease:cancelled') messages++
      else if (e.type === 'job:done' && doneAt < 0) doneAt = now
    }
    if (doneAt >= 0 && !sched.progress('sim')!.done) doneAt = -1
  }

  let now = 0
  while (agenda.size > 0) {
    const next = agenda.pop()!
    now = next.t
    if (now > cfg.maxSimMs || doneAt >= 0) break
    const e = next.e
    if (e.kind === 'tick') {
      decisions++
      onEvents(sched.expire(now), now)
      agenda.push(now + 1000, { kind: 'tick' })
      continue
    }
    if (!e.peer.alive || e.epoch !== e.peer.epoch) continue
    const peer = e.peer
    switch (e.kind) {
      case 'peer-idle':
        messages++
        if (lost()) agenda.push(now + 3000, { kind: 'peer-idle', peer, epoch: peer.epoch })
        else agenda.push(now + between(cfg.latencyMs), { kind: 'pull-arrives', peer, epoch: peer.epoch })
        break
      case 'pull-arrives': {
        decisions++
        const work = sched.pull(peer.id, cfg.capacity, now)
        messages++
        if (work.length === 0) agenda.push(now + 1000 + between(cfg.latencyMs), { kind: 'peer-idle', peer, epoch: peer.epoch })
        else if (lost()) agenda.push(now + 3000, { kind: 'peer-idle', peer, epoch: peer.epoch })
        else agenda.push(now + between(cfg.latencyMs), { kind: 'assignments-arrive', peer, epoch: peer.epoch, work })
        break
      }
      case 'assignments-arrive': {
        let t = now
        for (const a of e.work) {
          t += peer.speed
          const lie = peer.byzantine && rng.next() < cfg.lieRate
          messages++
          gossiped++ // its attestation, whether or not the result reaches the requester
          if (!lost()) agenda.push(t + between(cfg.latencyMs), { kind: 'result-arrives', peer, epoch: peer.epoch, a, hash: `${lie ? 'bad' : 'good'}-${a.shard}` })
        }
        agenda.push(t, { kind: 'peer-idle', peer, epoch: peer.epoch })
        break
      }
      case 'result-arrives':
        decisions++
        onEvents(sched.complete(e.a.leaseId, peer.id, { outputHash: e.hash }), now)
        break
      case 'leave':
        peer.alive = false
        peer.epoch++
        // Half the time the requester sees the connection close; otherwise only the lease timeout tells it.
        if (rng.next() < 0.5) onEvents(sched.removePeer(peer.id), now)
        join(now + between([1000, 10_000]), peer.byzantine)
        break
    }
  }

  const progress = sched.progress('sim')!
  const completionMs = doneAt >= 0 ? doneAt : Math.min(now, cfg.maxSimMs)
  let wrong = 0
  for (const hash of final.values()) if (hash.startsWith('bad')) wrong++
  return {
    peers: cfg.peers,
    shards: cfg.shards,
    completionMs,
    done: progress.done,
    wrongAccepted: wrong,
    failed: progress.failed,
    replicationFactor: progress.results / cfg.shards,
    workFactor: (progress.results + progress.canaryResults) / cfg.shards,
    messagesPerShard: messages / cfg.shards,
    gossipPerShard: gossiped / cfg.shards,
    gossipChecksPerPeerS: gossiped / (completionMs / 1000) + cfg.peers * 1000 / swarmInterval(cfg.peers - 1, PRESENCE_INTERVAL_MS),
    faultyDetected: faulty,
    honestFlagged,
    byzantinePeers: nByz,
    decisions
  }
}
