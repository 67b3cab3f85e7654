/**
 * Sequence numbers and timestamps for the envelopes this peer signs. A
 * sequence number must grow per (signer, kind) across reloads too (peers
 * keep replay windows), so it starts from the clock and then counts.
 */
import type { Kind } from '../core/constants.ts'
import type { SealMeta } from '../core/envelope.ts'

export class Sequencer {
  private readonly last = new Map<Kind, number>()

  constructor (private readonly now: () => number = Date.now) {}

  next (kind: Kind): SealMeta {
    const ts = this.now()
    const seq = Math.max((this.last.get(kind) ?? 0) + 1, ts)
    this.last.set(kind, seq)
    return { seq, ts }
  }
}
