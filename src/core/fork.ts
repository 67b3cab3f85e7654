/**
 * Fork evidence: signed statements of one requester about its log that
 * cannot all be true. An append-only log has exactly one root per size and
 * one leaf per index, so each of these proves the requester forked or
 * rewrote its log (or signed nonsense), and anyone can re-check it offline
 * from the bytes alone with {@link checkForkEvidence}:
 *
 *   - `same-size`: two signed heads (or a head and another head's `prev`)
 *     giving one size two different roots;
 *   - `bad-consistency`: one signed head whose consistency proof from the
 *     `prev` it names does not verify;
 *   - `leaf-conflict`: two verdicts, each proven by inclusion under a signed
 *     head, at the same leaf index but with different bytes.
 *
 * Evidence only ever holds envelope bytes and proofs, never conclusions.
 */
import { bytesEqual, toHex } from './bytes.ts'
import { open, type Envelope } from './envelope.ts'
import { leafHash, verifyInclusion } from './merkle.ts'
import { headClaims, headLinkHolds } from './tree-head.ts'

/** A verdict proven under a head: the parts of a receipt, without the receipt's own signature. */
export interface ProvenVerdict {
  /** Verdict envelope bytes (the leaf data). */
  verdict: Uint8Array
  proof: Uint8Array[]
  /** Tree-head envelope bytes the proof is against. */
  head: Uint8Array
}

/** Re-checkable proof that a requester's log is not append-only. */
export type ForkEvidence =
  | { kind: 'same-size', requester: Uint8Array, size: number, a: Uint8Array, b: Uint8Array }
  | { kind: 'bad-consistency', requester: Uint8Array, size: number, head: Uint8Array }
  | { kind: 'leaf-conflict', requester: Uint8Array, index: number, a: ProvenVerdict, b: ProvenVerdict }

/** Kinds of {@link ForkEvidence}. */
export type ForkKind = ForkEvidence['kind']

function openHead (bytes: Uint8Array, requester: Uint8Array): Envelope<'tree-head'> | string {
  const r = open(bytes, { kinds: ['tree-head'] })
  if (!r.ok) return `${r.error.name}: ${r.error.message}`
  if (!bytesEqual(r.envelope.signer, requester)) return 'a head is not signed by the accused requester'
  return r.envelope as Envelope<'tree-head'>
}

function rootAt (head: Envelope<'tree-head'>, size: number): Uint8Array | undefined {
  return headClaims(head).find(c => c.size === size)?.root
}

function provenLeaf (p: ProvenVerdict, requester: Uint8Array, index: number): Uint8Array | string {
  const v = open(p.verdict, { kinds: ['verdict'] })
  if (!v.ok) return `${v.error.name}: ${v.error.message}`
  if (!bytesEqual(v.envelope.signer, requester)) return 'a verdict is not signed by the accused requester'
  const head = openHead(p.head, requester)
  if (typeof head === 'string') return head
  const leaf = leafHash(p.verdict)
  if (!verifyInclusion(leaf, index, head.body.size, p.proof, head.body.root)) return `inclusion of leaf ${index} does not verify`
  return leaf
}

/**
 * Re-checks evidence from its bytes: true only if it really proves a fork by
 * `requester`. Never throws.
 */
export function checkForkEvidence (e: ForkEvidence): { ok: true } | { ok: false, reason: string } {
  const no = (reason: string): { ok: false, reason: string } => ({ ok: false, reason })
  try {
    switch (e.kind) {
      case 'same-size': {
        const a = openHead(e.a, e.requester)
        if (typeof a === 'string') return no(a)
        const b = openHead(e.b, e.requester)
        if (typeof b === 'string') return no(b)
        const ra = rootAt(a, e.size)
        const rb = rootAt(b, e.size)
        if (ra === undefined || rb === undefined) return no(`a head makes no claim about size ${e.size}`)
        return bytesEqual(ra, rb) ? no(`both heads give size ${e.size} the same root`) : { ok: true }
      }
      case 'bad-consistency': {
        const h = openHead(e.head, e.requester)
        if (typeof h === 'string') return no(h)
        if (h.body.prev === null) return no('the head has no previous head')
        return headLinkHolds(h) ? no('the consistency proof verifies') : { ok: true }
      }
      case 'leaf-conflict': {
        const a = provenLeaf(e.a, e.requester, e.index)
        if (typeof a === 'string') return no(a)
        const b = provenLeaf(e.b, e.requester, e.index)
        if (typeof b === 'string') return no(b)
        return bytesEqual(a, b) ? no('both verdicts are the same leaf') : { ok: true }
      }
      default:
        return no('unknown evidence kind')
    }
  } catch {
    return no('malformed evidence')
  }
}

/** One human line about a piece of evidence, for the CLI and the UI. */
export function describeFork (e: ForkEvidence): string {
  const who = toHex(e.requester).slice(0, 16)
  switch (e.kind) {
    case 'same-size': return `requester ${who}… signed two different roots for size ${e.size}`
    case 'bad-consistency': return `requester ${who}… signed a head of size ${e.size} whose consistency proof from its previous head fails`
    case 'leaf-conflict': return `requester ${who}… proved two different verdicts at leaf ${e.index}`
  }
}
