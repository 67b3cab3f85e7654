/**
 * Fair share for a volunteer: which open job to work on next, and how long
 * to stay on it while other jobs wait. Requesters take turns, whatever
 * their job sizes or the credit they hold: a volunteer serves the requester
 * it served least recently, that requester's job it served least recently,
 * and the oldest job on ties; after {@link WORK_SLICE_MS} on one job it
 * finishes what it holds and moves on if another job is open.
 */

/** How long a volunteer stays on one job while another open job waits. */
export const WORK_SLICE_MS = 3_000

export interface FairShareJob {
  requester: string
  /** When a volunteer last started a time slice on the job (0: never). */
  servedAt: number
  /** The manifest's signed time (older first on ties). */
  postedAt: number
}

/**
 * The job to serve next among `runnable`; `known` (all jobs we know, done or
 * not) tells when each requester was last served.
 */
export function nextJob<J extends FairShareJob> (known: Iterable<FairShareJob>, runnable: readonly J[]): J | undefined {
  const requesterServed = new Map<string, number>()
  for (const j of known) requesterServed.set(j.requester, Math.max(requesterServed.get(j.requester) ?? 0, j.servedAt))
  const served = (j: FairShareJob): number => requesterServed.get(j.requester) ?? 0
  return runnable.slice().sort((a, b) => served(a) - served(b) || a.servedAt - b.servedAt || a.postedAt - b.postedAt)[0]
}
