/**
 * Simulated swarm (bench/sim/swarm.ts): ≥ 300 volunteers in one Node process
 * running the real scheduler over a simulated network (latency 20–120 ms,
 * 1 % loss, churn), for byzantine fractions 0, 10 % and 33 % (colluding on one
 * wrong answer), plus a "sneaky" run where the 33 % lie on only 30 % of their
 * work. Each figure is the median over `repeats` seeds, except wrong results
 * accepted, which is the worst run. Also the scheduler's raw decision rate
 * with 1,000 peers and 100,000 shards (bench/sim/throughput.ts).
 * Targets (issue "Benchmarks"): 0 wrong accepted at 33 %; replication factor
 * ≤ 1.3 at 0 % with canaries on. Reported, never asserted.
 */
import type { BenchContext, BenchFigures } from '../types.ts'
import { simulate, SIM_DEFAULTS, type SimResult } from '../sim/swarm.ts'
import { schedulerThroughput } from '../sim/throughput.ts'

const FRACTIONS: Array<[string, number, number]> = [['0', 0, 1], ['10', 0.1, 1], ['33', 0.33, 1], ['33_sneaky', 0.33, 0.3]]

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const figures: BenchFigures = { sim_peers: SIM_DEFAULTS.peers }
  for (const [tag, byzantine, lieRate] of FRACTIONS) {
    const runs: SimResult[] = []
    for (let i = 0; i < ctx.repeats; i++) runs.push(simulate({ byzantine, lieRate, seed: 1 + i }))
    figures[`sim_wrong_accepted_${tag}`] = Math.max(...runs.map(r => r.wrongAccepted))
    figures[`sim_replication_factor_${tag}`] = ctx.spread(`sim_replication_factor_${tag}`, runs.map(r => r.replicationFactor))
    figures[`sim_work_factor_${tag}`] = ctx.spread(`sim_work_factor_${tag}`, runs.map(r => r.workFactor))
    figures[`sim_messages_per_shard_${tag}`] = ctx.spread(`sim_messages_per_shard_${tag}`, runs.map(r => r.messagesPerShard))
    figures[`sim_gossip_per_shard_${tag}`] = ctx.spread(`sim_gossip_per_shard_${tag}`, runs.map(r => r.gossipPerShard))
    figures[`sim_gossip_checks_per_peer_s_${tag}`] = ctx.spread(`sim_gossip_checks_per_peer_s_${tag}`, runs.map(r => r.gossipChecksPerPeerS))
    figures[`sim_completion_s_${tag}`] = ctx.spread(`sim_completion_s_${tag}`, runs.map(r => r.completionMs / 1000))
    figures[`sim_failed_shards_${tag}`] = Math.max(...runs.map(r => r.failed))
    figures[`sim_honest_flagged_${tag}`] = Math.max(...runs.map(r => r.honestFlagged))
    ctx.log(`  sim byzantine ${tag}: wrong ${figures[`sim_wrong_accepted_${tag}`]}, rf ${figures[`sim_replication_factor_${tag}`]!.toFixed(3)}, ` +
      `done ${runs.every(r => r.done)}, faulty found ${runs.map(r => `${r.faultyDetected}/${r.byzantinePeers}`).join(' ')} (honest among them: ${runs.map(r => r.honestFlagged).join(' ')})`)
  }
  const rates: number[] = []
  for (let i = 0; i < ctx.repeats; i++) rates.push(schedulerThroughput(1000, 100_000, 1 + i).perSecond)
  figures.scheduler_decisions_per_s = ctx.spread('scheduler_decisions_per_s', rates)
  return figures
}
