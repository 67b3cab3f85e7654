/**
 * The decision rule for one shard, apart from the bookkeeping in
 * scheduler.ts: group the replicas that count, and say whether a group wins,
 * must wait for its members to be vetted, or needs more replicas.
 *
 * A group wins when it has at least `base` results in total, and it leads all
 * other counted results together by at least the quorum:
 *   |top| − (|counted| − |top|) ≥ quorum.
 * With no dissent that is plain "quorum agreeing replicas"; every dissenting
 * replica raises the bar by one, so colluders who agree on one wrong answer
 * must outnumber the honest replicas by a full quorum, not just tie them.
 * While no group wins, the shard asks for as many more replicas as would let
 * the leading group win if they all agreed with it, up to a cap.
 */
import type { CompareRule } from './schemas.ts'
import type { Comparator, Completion } from './scheduler-types.ts'

/** One returned replica. */
export interface Replica<O> extends Completion<O> {
  peer: string
}

/** Whether two results agree: equal hashes always do; otherwise only a comparator under a non-exact rule can say so. */
export function sameOutput<O> (rule: CompareRule, a: Completion<O>, b: Completion<O>, comparator?: Comparator<O>): boolean {
  if (a.outputHash === b.outputHash) return true
  if (rule.kind === 'exact' || comparator === undefined || a.output === undefined || b.output === undefined) return false
  return comparator(rule, a.output, b.output)
}

/** Groups results by agreement with each group's first member, in arrival order. */
export function groupReplicas<O> (rule: CompareRule, replicas: Array<Replica<O>>, comparator?: Comparator<O>): Array<Array<Replica<O>>> {
  const groups: Array<Array<Replica<O>>> = []
  for (const r of replicas) {
    const g = groups.find(group => sameOutput(rule, r, group[0]!, comparator))
    if (g === undefined) groups.push([r])
    else g.push(r)
  }
  return groups
}

/** What to do with a shard now. */
export type Decision<O> =
  | { kind: 'accept', top: Array<Replica<O>> }
  | { kind: 'hold', top: Array<Replica<O>> }
  | { kind: 'open', need: number }

/** Inputs of {@link decide}. */
export interface DecideInput<O> {
  rule: CompareRule
  quorum: number
  /** Results required before any decision (policy replicas, 1 for a single replica, more after re-verification). */
  base: number
  /** Replicas that count (from peers neither faulty nor departed unvetted). */
  counted: Array<Replica<O>>
  /** Whether a peer's word may finalize a verdict (vetted by a canary, when the job has canaries). */
  vetted: (peer: string) => boolean
  comparator?: Comparator<O>
}

/**
 * Decides one shard. `need` is the total number of counted results to wait
 * for (already received ones included); the caller caps it.
 */
export function decide<O> (input: DecideInput<O>): Decision<O> {
  const { counted, quorum, base } = input
  if (counted.length === 0) return { kind: 'open', need: base }
  const groups = groupReplicas(input.rule, counted, input.comparator)
  let top = groups[0]!
  for (const g of groups) if (g.length > top.length) top = g
  const margin = top.length - (counted.length - top.length)
  if (margin >= quorum && counted.length >= base) {
    return top.every(r => input.vetted(r.peer)) ? { kind: 'accept', top } : { kind: 'hold', top }
  }
  return { kind: 'open', need: Math.max(base, counted.length + Math.max(1, quorum - margin)) }
}
