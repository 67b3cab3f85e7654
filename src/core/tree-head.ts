/**
 * Signed tree heads: a requester's statement "my verdict log has `size`
 * leaves with root `root`" (RFC 9162 §4.10 in spirit), sealed as a
 * `tree-head` envelope. Each head after the first names the previous head
 * the requester announced and carries the RFC 9162 §2.1.4 consistency proof
 * from it, so the heads of one requester form a chain any observer can check
 * offline: every link must verify, and no two heads may give one size two
 * roots. A head whose own link does not verify is fork evidence by itself:
 * its signer signed two statements about its log that cannot both be true.
 */
import { sha256, toHex } from './bytes.ts'
import { open, seal, sealAsync, type BodyOf, type Envelope, type SealMeta } from './envelope.ts'
import { ForkError, InvalidProofError, type CoreError } from './errors.ts'
import type { Identity } from './identity.ts'
import { verifyConsistency } from './merkle.ts'
import type { MerkleLog } from './merkle-log.ts'

/** A (size, root) pair a requester signed, either as a head or as a head's `prev`. */
export interface HeadClaim {
  size: number
  root: Uint8Array
}

/** Options of the offline verifiers: clock limits are off unless given (a receipt stays valid forever). */
export interface VerifyOptions {
  /** Current time in ms; default `Date.now()`. */
  now?: number
  /** Refuse envelopes signed longer ago than this. */
  maxAgeMs?: number
  /** Refuse envelopes dated further ahead than this. */
  maxFutureMs?: number
  /**
   * Remembers tree heads that verified, so the many receipts of one bundle
   * sharing a head check its signature and consistency link once. Only used
   * when no clock limit is given (the result then depends on the bytes alone).
   */
  cache?: HeadCache
}

/** Bounded memo of verified tree heads, keyed by SHA-256 of their bytes. Cleared when full. */
export class HeadCache {
  private readonly heads = new Map<string, Envelope<'tree-head'>>()

  constructor (private readonly max = 4096) {}

  get (key: string): Envelope<'tree-head'> | undefined {
    return this.heads.get(key)
  }

  set (key: string, head: Envelope<'tree-head'>): void {
    if (this.heads.size >= this.max) this.heads.clear()
    this.heads.set(key, head)
  }
}

/** Which signed part of a receipt a refusal is about (the `context` of {@link refuse}). */
export type RefusedPart = 'receipt' | 'verdict' | 'tree head'

/** A refusal from a verifier: the named error, the part it is about if known, and a one-line reason (`"<ErrorName>: <part>: <message>"`). */
export interface Refusal {
  ok: false
  error: CoreError
  part?: RefusedPart
  reason: string
}

/** Builds a {@link Refusal} from a named error. */
export function refuse (error: CoreError, part?: RefusedPart): Refusal {
  const reason = `${error.name}: ${part === undefined ? '' : `${part}: `}${error.message}`
  return part === undefined ? { ok: false, error, reason } : { ok: false, error, part, reason }
}

/** What {@link verifyTreeHead} returns. */
export type TreeHeadResult = { ok: true, envelope: Envelope<'tree-head'> } | Refusal

/**
 * Seals the head of the first `size` leaves of `log` (default: all), linked
 * to `prev`, the head the same requester announced before (null for its first).
 * @throws {RangeError} if `size` is outside the log or `prev.size` > `size`.
 * @throws {InvalidProofError} if `prev.root` is not the log's root at `prev.size` (the log was not append-only).
 * @throws {SchemaError|OversizedError|InvalidKeyError} as `seal()` does.
 */
export function sealTreeHead (identity: Identity, log: MerkleLog, meta: SealMeta, prev: HeadClaim | null, size: number = log.size): Uint8Array {
  return seal('tree-head', headBody(log, prev, size), identity, meta)
}

/**
 * {@link sealTreeHead} with the signature made on the platform's native
 * Ed25519 where there is one (envelope.ts `sealAsync`): the same bytes, and
 * the only way to sign with a key held as a non-extractable CryptoKey. The
 * root and proof are taken from `log` before it returns, so the log may grow
 * meanwhile.
 * @throws as {@link sealTreeHead} does.
 */
export async function sealTreeHeadAsync (identity: Identity, log: MerkleLog, meta: SealMeta, prev: HeadClaim | null, size: number = log.size): Promise<Uint8Array> {
  return await sealAsync('tree-head', headBody(log, prev, size), identity, meta)
}

/** The body of the head of the first `size` leaves of `log`, linked to `prev`. @throws as {@link sealTreeHead} does. */
function headBody (log: MerkleLog, prev: HeadClaim | null, size: number): BodyOf<'tree-head'> {
  const root = log.root(size)
  let link = null
  if (prev !== null) {
    const consistency = log.consistencyProof(prev.size, size)
    if (!verifyConsistency(prev.size, size, prev.root, root, consistency)) {
      throw new InvalidProofError(`previous head (size ${prev.size}) is not a prefix of this log`)
    }
    link = { size: prev.size, root: prev.root, consistency }
  }
  return { size, root, prev: link }
}

/**
 * Opens a tree-head envelope and checks its link to the previous head.
 * A validly signed head whose consistency proof fails is refused with
 * {@link ForkError}. Never throws.
 */
export function verifyTreeHead (bytes: Uint8Array, options: VerifyOptions = {}): TreeHeadResult {
  const { cache, ...openOptions } = options
  const cacheable = cache !== undefined && options.maxAgeMs === undefined && options.maxFutureMs === undefined && bytes instanceof Uint8Array
  const key = cacheable ? toHex(sha256(bytes)) : ''
  const known = cacheable ? cache.get(key) : undefined
  if (known !== undefined) return { ok: true, envelope: known }
  const r = open(bytes, { ...openOptions, kinds: ['tree-head'] })
  if (!r.ok) return refuse(r.error, 'tree head')
  const head = r.envelope as Envelope<'tree-head'>
  if (!headLinkHolds(head)) return refuse(new ForkError(`consistency proof from size ${head.body.prev!.size} to ${head.body.size} does not verify`), 'tree head')
  if (cacheable) cache.set(key, head)
  return { ok: true, envelope: head }
}

/** True when the head has no `prev`, or its consistency proof from `prev` verifies (RFC 9162 §2.1.4.2). */
export function headLinkHolds (head: Envelope<'tree-head'>): boolean {
  const { prev, size, root } = head.body
  return prev === null || verifyConsistency(prev.size, size, prev.root, root, prev.consistency)
}

/** The signed claims a head makes: its own (size, root) and, if linked, its predecessor's. */
export function headClaims (head: Envelope<'tree-head'>): HeadClaim[] {
  const own = { size: head.body.size, root: head.body.root }
  return head.body.prev === null ? [own] : [own, { size: head.body.prev.size, root: head.body.prev.root }]
}

/** Stable text key of a claim, `size:roothex`. */
export function claimKey (claim: HeadClaim): string {
  return `${claim.size}:${toHex(claim.root)}`
}
