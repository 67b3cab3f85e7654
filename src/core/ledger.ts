/**
 * The public credit ledger, derived deterministically from what a peer has
 * seen (DESIGN.md step 7). Feed it receipts and tree heads as bytes, in any
 * order, duplicates included; `snapshot()` is a pure function of the set of
 * distinct valid inputs, so two peers that saw the same messages show the
 * same ledger.
 *
 * Rules:
 * - One credit per peer credited by a verdict, counted once per
 *   (requester, leaf index) whatever the number of receipts for it.
 * - A requester that re-verifies a shard (a credited peer later failed a
 *   canary or an audit) logs a new verdict for it: only the latest verdict
 *   of each (requester, job, shard) counts, so nobody is credited twice for
 *   one shard and a liar loses credit its lie had earned.
 * - Every signed head (alone or inside a receipt) is a claim about its
 *   requester's log. Fork evidence (fork.ts) is derived from all claims:
 *   two roots for one size, a head whose consistency link fails, two
 *   verdicts at one leaf index.
 * - A forked requester gets a fork point F: the largest log size that both
 *   sides of every conflict provably extend (through verified consistency
 *   links), 0 if none. Its verdicts at leaf index ≥ F are flagged: shown as
 *   `flaggedCredit`, not counted. Verdicts below F are in a prefix both
 *   branches share, so they still count.
 * - Memory is bounded per requester and in all (LEDGER_LIMITS); see constants.ts.
 * - Cost: a snapshot is kept until something changes, and a requester
 *   without a sign of a fork is counted as its receipts come (Tally), so a
 *   snapshot does not go over every receipt again; a forked requester is
 *   derived whole.
 */
import { concat, fromHex, toHex } from './bytes.ts'
import { LEDGER_LIMITS } from './constants.ts'
import { InvalidEnvelopeError } from './errors.ts'
import { open, type Envelope } from './envelope.ts'
import type { ForkEvidence } from './fork.ts'
import { verifyOpenedReceipt, verifyReceipt, type VerifiedReceipt } from './receipt.ts'
import { HeadCache, claimKey, headClaims, headLinkHolds, refuse, type Refusal } from './tree-head.ts'
import { HASH_BYTES } from './merkle.ts'

/** One volunteer's line in the ledger. */
export interface LedgerRow {
  /** Public key, lowercase hex. */
  peer: string
  /** Counted credited verdicts (the latest verdict of each shard). */
  credit: number
  /** Counted verdicts naming this peer, credited or rejected. */
  verdicts: number
  /** Counted verdicts rejecting this peer's output. */
  rejected: number
  /** Credited verdicts of forked requesters after their fork point: shown, not counted. */
  flaggedCredit: number
}

/** One requester's line: how much of its log this peer has seen, and whether it forked. */
export interface RequesterRow {
  requester: string
  heads: number
  /** Distinct leaf indices with a verified verdict. */
  verdicts: number
  largestSize: number
  forked: boolean
  /** Leaf index from which its claims are flagged; null if not forked. */
  forkAt: number | null
  /** Inputs refused because a LEDGER_LIMITS bound was reached. */
  dropped: number
}

/** What the UI renders. Sorted deterministically. Read-only: one snapshot is handed to every caller until the ledger changes. */
export interface LedgerSnapshot {
  readonly rows: ReadonlyArray<Readonly<LedgerRow>>
  readonly requesters: ReadonlyArray<Readonly<RequesterRow>>
  readonly forks: readonly ForkEvidence[]
  readonly totals: Readonly<{ credit: number, flaggedCredit: number, verdicts: number, heads: number, dropped: number }>
}

/** Result of feeding one message: `added` is false for a duplicate. */
export type LedgerAddResult = { ok: true, added: boolean } | Refusal

/** Result of feeding a receipt: also the verified receipt, so callers need not verify it again. */
export type LedgerReceiptResult = {
  ok: true
  added: boolean
  receipt: VerifiedReceipt
  /**
   * Why a receipt that verified is not in the ledger: a LEDGER_LIMITS bound
   * of its requester was reached (counted as dropped). Still a valid receipt:
   * a volunteer it credits keeps it.
   */
  dropped?: string
} | Refusal

/** The bounds a Ledger applies (defaults: LEDGER_LIMITS). */
export type LedgerLimits = Record<keyof typeof LEDGER_LIMITS, number>

export interface LedgerInit {
  /** Overrides of LEDGER_LIMITS (tests use small ones). */
  limits?: Partial<LedgerLimits>
}

interface HeadRec {
  envelope: Envelope<'tree-head'>
  bytes: Uint8Array
  id: string
  linkOk: boolean
}

interface ClaimRec {
  index: number
  leaf: string
  /** Receipt id: the smallest is kept, so the representative does not depend on order. */
  id: string
  verdict: Uint8Array
  /** The inclusion path, its hashes end to end (one array: each costs more than its 32 bytes). */
  proof: Uint8Array
  /**
   * The head it is proven against: the key of a head kept in `heads` (the
   * same size and root: its bytes are looked up when evidence needs them,
   * not kept per receipt), or the bytes and claim key of one past the heads
   * bound.
   */
  head: string | { bytes: Uint8Array, node: string }
  credited: string[]
  rejected: string[]
  /** `<jobId hex>/<shard>`: a later verdict of the same decision (a re-verification) supersedes this one. */
  decision: string
}

interface RequesterState {
  heads: Map<string, HeadRec>
  claims: Map<string, ClaimRec>
  /** The first claim held at each leaf index (a second one is a fork), and the lowest index none is at (for {@link Ledger.missingLeaves}). */
  atIndex: Map<number, ClaimRec>
  firstMissing: number
  dropped: number
  /** Largest log size a kept head claims. */
  largestSize: number
  /** Its counts, kept up to date as claims come while it shows no sign of a fork. */
  tally: Tally
  /** Bumped on every change to this state: its derived part is computed again only after one. */
  version: number
  derived: Derived | undefined
}

/** What one requester's state contributes to the snapshot, as of `version`. */
interface Derived {
  version: number
  requester: RequesterRow
  /** Each peer's counts from this requester's verdicts (the tally's own, read only). */
  rows: ReadonlyMap<string, Readonly<LedgerRow>>
  /** Its fork evidence, capped. */
  forks: ForkEvidence[]
  credit: number
  flaggedCredit: number
  verdicts: number
}

/**
 * One requester's counts, kept as its claims and heads arrive while it shows
 * no sign of a fork (two roots for one log size, a failed consistency link,
 * two verdicts at one leaf index): then its part of the snapshot is read off
 * here instead of going over every claim again. The first such sign ends it
 * (`forked`), and from then on its part is derived whole: forks are rare,
 * and a fork point is a matter of all the claims.
 */
class Tally {
  forked = false
  readonly rows = new Map<string, LedgerRow>()
  credit = 0
  /** Counted verdicts: the last leaf of each decision. */
  verdicts = 0
  /** The root (hex) each log size has, by the heads kept. */
  private roots = new Map<number, string>()
  /** The last leaf index of each decision (job, shard). */
  private latest = new Map<string, number>()

  head (head: HeadRec): void {
    if (this.forked) return
    if (!head.linkOk) { this.fork(); return }
    for (const c of headClaims(head.envelope)) {
      const root = toHex(c.root)
      const had = this.roots.get(c.size)
      if (had === undefined) this.roots.set(c.size, root)
      else if (had !== root) { this.fork(); return }
    }
  }

  /**
   * Counts a claim just held. `clash`: another claim was already held at its
   * index; `atIndex`: the requester's first claim at each index (while no
   * fork, the only one).
   */
  claim (c: ClaimRec, clash: boolean, atIndex: ReadonlyMap<number, ClaimRec>): void {
    if (this.forked) return
    if (clash) { this.fork(); return }
    const last = this.latest.get(c.decision)
    // A later leaf of the same decision (a re-verification) supersedes this one, and this one an earlier.
    if (last !== undefined && last > c.index) return
    if (last !== undefined) this.count(atIndex.get(last)!, -1)
    this.latest.set(c.decision, c.index)
    this.count(c, 1)
  }

  private count (c: ClaimRec, by: 1 | -1): void {
    this.verdicts += by
    for (const p of c.credited) { const r = this.row(p); r.credit += by; r.verdicts += by; this.credit += by; this.prune(r) }
    for (const p of c.rejected) { const r = this.row(p); r.rejected += by; r.verdicts += by; this.prune(r) }
  }

  private row (peer: string): LedgerRow {
    let r = this.rows.get(peer)
    if (r === undefined) { r = { peer, credit: 0, verdicts: 0, rejected: 0, flaggedCredit: 0 }; this.rows.set(peer, r) }
    return r
  }

  /** A peer no counted verdict names has no row (as when derived whole). */
  private prune (r: LedgerRow): void {
    if (r.verdicts === 0) this.rows.delete(r.peer)
  }

  private fork (): void {
    this.forked = true
    this.roots = new Map()
    this.latest = new Map()
  }
}

/** A pending fork with its fork point, before capping. */
interface Found { evidence: ForkEvidence, at: number, order: string }

/** Deterministic credit ledger. Not thread-safe; one per observer. */
export class Ledger {
  private readonly requesters = new Map<string, RequesterState>()
  private readonly limits: LedgerLimits
  private droppedRequesters = 0
  /** Heads and claims held, of all requesters (bounded by LEDGER_LIMITS.heads and .receipts). */
  private heads = 0
  private claims = 0
  /** Bumped on every change: an unchanged ledger gives the same snapshot object again. */
  private version = 0
  private last: { version: number, snapshot: LedgerSnapshot } | undefined
  /** Verified heads shared by many receipts are checked once. */
  private readonly cache = new HeadCache()

  constructor (init: LedgerInit = {}) {
    this.limits = { ...LEDGER_LIMITS, ...init.limits }
  }

  /** Feeds bytes of a receipt or a tree head. Never throws. */
  add (bytes: Uint8Array): LedgerAddResult {
    const r = open(bytes, { kinds: ['receipt', 'tree-head'] })
    if (!r.ok) return refuse(r.error)
    if (r.envelope.kind === 'tree-head') return this.recordHead(r.envelope, bytes)
    const added = this.addReceipt(bytes)
    if (!added.ok) return added
    return added.dropped !== undefined ? refuse(new InvalidEnvelopeError(added.dropped)) : { ok: true, added: added.added }
  }

  /**
   * Feeds a signed tree head. A validly signed head whose consistency link
   * fails is kept (it is fork evidence) and reported as added. Never throws.
   */
  addTreeHead (bytes: Uint8Array): LedgerAddResult {
    const r = open(bytes, { kinds: ['tree-head'] })
    if (!r.ok) return refuse(r.error, 'tree head')
    return this.recordHead(r.envelope as Envelope<'tree-head'>, bytes)
  }

  private recordHead (head: Envelope<'tree-head'>, bytes: Uint8Array): LedgerAddResult {
    return this.keepHead(head, bytes).result
  }

  /** Records a head; `key` is its key in its requester's `heads` if it (or one making the same claims) is kept there. */
  private keepHead (head: Envelope<'tree-head'>, bytes: Uint8Array): { result: LedgerAddResult, key?: string } {
    const state = this.state(toHex(head.signer))
    if (state === undefined) return { result: refuse(new InvalidEnvelopeError('ledger holds the maximum number of requesters')) }
    const linkOk = headLinkHolds(head)
    const key = headKey(head, linkOk)
    const rec: HeadRec = { envelope: head, bytes, id: toHex(head.id), linkOk }
    const have = state.heads.get(key)
    if (have !== undefined) {
      if (rec.id < have.id) { state.heads.set(key, rec); this.changed(state) }
      return { result: { ok: true, added: false }, key }
    }
    if (state.heads.size >= this.limits.headsPerRequester || this.heads >= this.limits.heads) {
      state.dropped++
      this.changed(state)
      return { result: refuse(new InvalidEnvelopeError(`ledger holds the maximum number of heads ${state.heads.size >= this.limits.headsPerRequester ? 'for this requester' : 'it keeps'}`)) }
    }
    state.heads.set(key, rec)
    this.heads++
    state.largestSize = Math.max(state.largestSize, head.body.size)
    state.tally.head(rec)
    this.changed(state)
    return { result: { ok: true, added: true }, key }
  }

  /**
   * Feeds a receipt: its head is recorded as a claim even if the receipt
   * fails. `opened` is the envelope of `bytes` if they were opened already
   * (by a gossip validator): it is not opened again. Never throws.
   */
  addReceipt (bytes: Uint8Array, opened?: Envelope<'receipt'>): LedgerReceiptResult {
    const v = opened !== undefined ? verifyOpenedReceipt(opened, { cache: this.cache }) : verifyReceipt(bytes, { cache: this.cache })
    if (!v.ok) {
      // A validly signed head with a broken link is evidence even inside a receipt that fails.
      const outer = open(bytes, { kinds: ['receipt'] })
      if (outer.ok) this.addTreeHead((outer.envelope as Envelope<'receipt'>).body.head)
      return v
    }
    return this.addVerified(v)
  }

  /**
   * Feeds a receipt that verifyReceipt() has just checked (a requester adds
   * the receipts it issues, checked when sealed, without opening them again).
   * Beyond a bound it is not kept, and says why (`dropped`).
   */
  addVerified (v: VerifiedReceipt): LedgerReceiptResult {
    const head = this.keepHead(v.head, v.receipt.body.head).key ?? { bytes: v.receipt.body.head, node: claimKey(v.head.body) }
    const state = this.state(toHex(v.requester))
    if (state === undefined) return { ok: true, added: false, receipt: v, dropped: 'ledger holds the maximum number of requesters' }
    const rec: ClaimRec = {
      index: v.index,
      leaf: toHex(v.leaf),
      id: toHex(v.receipt.id),
      verdict: v.receipt.body.verdict,
      proof: concat(...v.receipt.body.proof),
      head,
      credited: v.verdict.body.credited.map(toHex),
      rejected: v.verdict.body.rejected.map(toHex),
      decision: `${toHex(v.verdict.body.jobId)}/${v.verdict.body.shard}`
    }
    const key = `${rec.index}:${rec.leaf}`
    const have = state.claims.get(key)
    if (have !== undefined) {
      if (rec.id < have.id) { state.claims.set(key, rec); this.changed(state) }
      return { ok: true, added: false, receipt: v }
    }
    if (state.claims.size >= this.limits.receiptsPerRequester || this.claims >= this.limits.receipts) {
      state.dropped++
      this.changed(state)
      return { ok: true, added: false, receipt: v, dropped: `ledger holds the maximum number of receipts ${state.claims.size >= this.limits.receiptsPerRequester ? 'for this requester' : 'it keeps'}` }
    }
    state.claims.set(key, rec)
    this.claims++
    const clash = state.atIndex.has(rec.index)
    if (!clash) state.atIndex.set(rec.index, rec)
    state.tally.claim(rec, clash, state.atIndex)
    this.changed(state)
    while (state.atIndex.has(state.firstMissing)) state.firstMissing++
    return { ok: true, added: true, receipt: v }
  }

  /**
   * Whether a bound keeps this ledger from holding another receipt of
   * `requester` (public key, hex): its own, all requesters' receipts, or the
   * number of requesters. Receipts crediting this peer are then caught up on
   * by asking for them alone (src/swarm/log-catch-up.ts).
   */
  full (requester: string): boolean {
    const state = this.requesters.get(requester)
    if (state === undefined) return this.claims >= this.limits.receipts || this.requesters.size >= this.limits.requesters
    return state.claims.size >= this.limits.receiptsPerRequester || this.claims >= this.limits.receipts
  }

  /**
   * Leaf indices below `size` of `requester`'s log (public key, hex) for
   * which no verdict is held, ascending, at most `max`: what a peer that saw
   * a head of that size should catch up on. Empty once the requester's
   * receipt bound or the ledger's is reached (nothing more would be kept).
   */
  missingLeaves (requester: string, size: number, max: number): number[] {
    if (this.full(requester)) return []
    const state = this.requesters.get(requester)
    // Called for every head seen (each gossiped receipt carries one): from the first gap, not from 0.
    const out: number[] = []
    for (let i = state?.firstMissing ?? 0; i < size && out.length < max; i++) if (state?.atIndex.has(i) !== true) out.push(i)
    return out
  }

  /**
   * The ledger derived from everything fed so far. Pure: same inputs, same
   * snapshot. Cheap to ask for again (the Ledger page asks on every refresh):
   * an unchanged ledger gives the same object back, and only the requesters
   * fed something since the last snapshot are derived again.
   */
  snapshot (): LedgerSnapshot {
    if (this.last?.version === this.version) return this.last.snapshot
    const peers = new Map<string, LedgerRow>()
    const requesters: RequesterRow[] = []
    const forks: ForkEvidence[] = []
    const totals = { credit: 0, flaggedCredit: 0, verdicts: 0, heads: 0, dropped: this.droppedRequesters }
    for (const requester of [...this.requesters.keys()].sort()) {
      const state = this.requesters.get(requester)!
      let derived = state.derived
      if (derived?.version !== state.version) {
        derived = this.derive(requester, state)
        state.derived = derived
      }
      for (const [peer, part] of derived.rows) {
        const r = peers.get(peer)
        if (r === undefined) { peers.set(peer, { ...part }); continue }
        r.credit += part.credit
        r.verdicts += part.verdicts
        r.rejected += part.rejected
        r.flaggedCredit += part.flaggedCredit
      }
      requesters.push(derived.requester)
      forks.push(...derived.forks)
      totals.credit += derived.credit
      totals.flaggedCredit += derived.flaggedCredit
      totals.verdicts += derived.verdicts
      totals.heads += derived.requester.heads
      totals.dropped += derived.requester.dropped
    }
    const rows = [...peers.values()].sort((a, b) => b.credit - a.credit || b.flaggedCredit - a.flaggedCredit || (a.peer < b.peer ? -1 : 1))
    const snapshot = { rows, requesters, forks, totals }
    this.last = { version: this.version, snapshot }
    return snapshot
  }

  /** One requester's part of the snapshot: read off its tally, or derived whole once it shows a fork. */
  private derive (requester: string, state: RequesterState): Derived {
    const line = (forkAt: number | null): RequesterRow => ({
      requester, heads: state.heads.size, verdicts: state.atIndex.size, largestSize: state.largestSize, forked: forkAt !== null, forkAt, dropped: state.dropped
    })
    const tally = state.tally
    if (!tally.forked) {
      return { version: state.version, requester: line(null), rows: tally.rows, forks: [], credit: tally.credit, flaggedCredit: 0, verdicts: tally.verdicts }
    }
    const rows = new Map<string, LedgerRow>()
    const row = (peer: string): LedgerRow => {
      let r = rows.get(peer)
      if (r === undefined) { r = { peer, credit: 0, verdicts: 0, rejected: 0, flaggedCredit: 0 }; rows.set(peer, r) }
      return r
    }
    const byIndex = claimsByIndex(state)
    const found = findForks(fromHex(requester), state, byIndex)
    const forkAt = found.length === 0 ? null : Math.min(...found.map(f => f.at))
    found.sort((a, b) => a.at - b.at || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    // The last leaf deciding each (job, shard): a re-verified shard's new verdict supersedes the old one,
    // so a shard is credited once, to whoever the latest verdict credits.
    const latest = new Map<string, number>()
    for (const c of state.claims.values()) {
      if (forkAt === null || c.index < forkAt) latest.set(c.decision, Math.max(latest.get(c.decision) ?? -1, c.index))
    }
    let credit = 0
    let flaggedCredit = 0
    let verdicts = 0
    for (const [index, claims] of byIndex) {
      if (forkAt !== null && index >= forkAt) {
        for (const p of new Set(claims.flatMap(c => c.credited))) { row(p).flaggedCredit++; flaggedCredit++ }
        continue
      }
      const only = claims[0]!
      if (latest.get(only.decision) !== index) continue
      verdicts++
      for (const p of only.credited) { const r = row(p); r.credit++; r.verdicts++; credit++ }
      for (const p of only.rejected) { const r = row(p); r.rejected++; r.verdicts++ }
    }
    return {
      version: state.version,
      requester: line(forkAt),
      rows,
      forks: found.slice(0, this.limits.forksPerRequester).map(f => f.evidence),
      credit,
      flaggedCredit,
      verdicts
    }
  }

  private changed (state: RequesterState): void {
    state.version++
    this.version++
  }

  private state (requester: string): RequesterState | undefined {
    let s = this.requesters.get(requester)
    if (s === undefined) {
      if (this.requesters.size >= this.limits.requesters) { this.droppedRequesters++; this.version++; return undefined }
      s = { heads: new Map(), claims: new Map(), atIndex: new Map(), firstMissing: 0, dropped: 0, largestSize: 0, tally: new Tally(), version: 0, derived: undefined }
      this.requesters.set(requester, s)
    }
    return s
  }
}

/** Heads with the same claims and link outcome are the same statement, whatever their seq/ts. */
function headKey (head: Envelope<'tree-head'>, linkOk: boolean): string {
  const own = claimKey(head.body)
  return head.body.prev === null ? own : `${own}<${claimKey(head.body.prev)}${linkOk ? '' : '!'}`
}

const sizeOf = (node: string): number => Number(node.slice(0, node.indexOf(':')))

/** The claim key ("size:root") of the head a claim is proven against: a kept head's key up to its link. */
function headNode (c: ClaimRec): string {
  return typeof c.head === 'string' ? c.head.split('<')[0]! : c.head.node
}

/** A requester's claims grouped by leaf index (more than one at an index is a conflict). */
function claimsByIndex (state: RequesterState): Map<number, ClaimRec[]> {
  const byIndex = new Map<number, ClaimRec[]>()
  for (const c of state.claims.values()) {
    const at = byIndex.get(c.index)
    if (at === undefined) byIndex.set(c.index, [c])
    else at.push(c)
  }
  return byIndex
}

/** All fork evidence of one requester, each with its fork point. Deterministic in the stored sets. */
function findForks (requester: Uint8Array, state: RequesterState, byIndex: Map<number, ClaimRec[]>): Found[] {
  const heads = [...state.heads.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  // The consistency graph: node "size:root" → predecessors proven by a verified link.
  const edges = new Map<string, Set<string>>()
  for (const h of heads) {
    if (h.envelope.body.prev === null || !h.linkOk) continue
    const from = claimKey(h.envelope.body)
    const set = edges.get(from) ?? new Set<string>()
    set.add(claimKey(h.envelope.body.prev))
    edges.set(from, set)
  }
  const memo = new Map<string, Set<string>>()
  const ancestors = (node: string): Set<string> => {
    let seen = memo.get(node)
    if (seen !== undefined) return seen
    seen = new Set([node])
    const stack = [node]
    while (stack.length > 0) {
      for (const p of edges.get(stack.pop()!) ?? []) if (!seen.has(p)) { seen.add(p); stack.push(p) }
    }
    memo.set(node, seen)
    return seen
  }
  /** Largest size both nodes provably extend. */
  const common = (x: string, y: string): number => {
    const ax = ancestors(x)
    let best = 0
    for (const n of ancestors(y)) if (ax.has(n)) best = Math.max(best, sizeOf(n))
    return best
  }
  const found: Found[] = []
  // Two roots for one size: group every signed claim by size; first head (by id) per root represents it.
  const bySize = new Map<number, Map<string, HeadRec>>()
  for (const h of heads) {
    for (const c of headClaims(h.envelope)) {
      const roots = bySize.get(c.size) ?? new Map<string, HeadRec>()
      const root = toHex(c.root)
      if (!roots.has(root)) roots.set(root, h)
      bySize.set(c.size, roots)
    }
  }
  for (const [size, roots] of bySize) {
    if (roots.size < 2) continue
    const [ra, rb] = [...roots.keys()].sort()
    const a = roots.get(ra!)!
    const b = roots.get(rb!)!
    found.push({ evidence: { kind: 'same-size', requester, size, a: a.bytes, b: b.bytes }, at: common(`${size}:${ra!}`, `${size}:${rb!}`), order: `a:${size}` })
  }
  for (const h of heads) {
    if (h.linkOk) continue
    const body = h.envelope.body
    found.push({ evidence: { kind: 'bad-consistency', requester, size: body.size, head: h.bytes }, at: common(claimKey(body), claimKey(body.prev!)), order: `b:${h.id}` })
  }
  for (const [index, claims] of byIndex) {
    if (claims.length < 2) continue
    const [a, b] = [...claims].sort((x, y) => x.leaf < y.leaf ? -1 : 1)
    const part = (c: ClaimRec): { verdict: Uint8Array, proof: Uint8Array[], head: Uint8Array } => ({
      verdict: c.verdict,
      proof: Array.from({ length: c.proof.length / HASH_BYTES }, (_x, i) => c.proof.slice(HASH_BYTES * i, HASH_BYTES * (i + 1))),
      head: typeof c.head === 'string' ? state.heads.get(c.head)!.bytes : c.head.bytes
    })
    found.push({
      evidence: { kind: 'leaf-conflict', requester, index, a: part(a!), b: part(b!) },
      at: Math.min(index, common(headNode(a!), headNode(b!))),
      order: `c:${String(index).padStart(16, '0')}`
    })
  }
  return found
}
