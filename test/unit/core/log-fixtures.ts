/**
 * A requester's log made with the real core functions, for the receipt,
 * ledger, fuzz, CLI and e2e tests: verdicts sealed and appended, heads
 * chained with consistency proofs, receipts issued against any head.
 * `fork()` copies the log so a test can make a dishonest second branch.
 */
import type { Identity } from '../../../src/core/identity.ts'
import { seal } from '../../../src/core/envelope.ts'
import { MerkleLog } from '../../../src/core/merkle-log.ts'
import { issueReceipt } from '../../../src/core/receipt.ts'
import { sealTreeHead, verifyTreeHead, type HeadClaim } from '../../../src/core/tree-head.ts'
import type { VerdictBody } from '../../../src/core/schemas.ts'

export const TS = 1_800_000_000_000

export const hash = (n: number): Uint8Array => new Uint8Array(32).fill(n & 0xff)

export class TestRequester {
  log = new MerkleLog()
  verdicts: Uint8Array[] = []
  heads: Uint8Array[] = []
  last: HeadClaim | null = null
  private seq = 0

  constructor (readonly identity: Identity) {}

  /** Seals a verdict for `shard` crediting `credited`, appends it; returns its leaf index. */
  verdict (shard: number, credited: Identity[], rejected: Identity[] = [], extra: Partial<VerdictBody> = {}): number {
    const body: VerdictBody = { jobId: hash(9), shard, outputHash: hash(shard + 1), credited: credited.map(c => c.publicKey), rejected: rejected.map(r => r.publicKey), ...extra }
    const bytes = seal('verdict', body, this.identity, { seq: ++this.seq, ts: TS + this.seq })
    this.verdicts.push(bytes)
    return this.log.append(bytes)
  }

  /** Announces a head of the whole log, linked to the previous one. */
  head (): Uint8Array {
    const bytes = sealTreeHead(this.identity, this.log, { seq: ++this.seq, ts: TS + this.seq }, this.last)
    this.last = { size: this.log.size, root: this.log.root() }
    this.heads.push(bytes)
    return bytes
  }

  /** A receipt for leaf `index` against `head` (default: the latest head). */
  receipt (index: number, head: Uint8Array = this.heads.at(-1)!): Uint8Array {
    return issueReceipt(this.identity, this.log, this.verdicts[index]!, index, head, { seq: ++this.seq, ts: TS + this.seq })
  }

  /**
   * An independent copy (same key) of the log's first `size` leaves and the
   * heads announced up to then, to build a conflicting branch from there.
   */
  fork (size: number = this.log.size): TestRequester {
    const copy = new TestRequester(this.identity)
    for (const v of this.verdicts.slice(0, size)) { copy.verdicts.push(v); copy.log.append(v) }
    for (const h of this.heads) {
      const head = verifyTreeHead(h)
      if (head.ok && head.envelope.body.size <= size) {
        copy.heads.push(h)
        copy.last = { size: head.envelope.body.size, root: head.envelope.body.root }
      }
    }
    copy.seq = this.seq + 1000
    return copy
  }
}
