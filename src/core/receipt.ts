/**
 * Receipts: what a volunteer keeps as proof of its credit (DESIGN.md step 6).
 *
 * A receipt is a `receipt` envelope sealed by the requester whose body holds
 *
 *   - `verdict`: the exact bytes of the requester's signed verdict envelope;
 *     these bytes are the Merkle leaf data, so the leaf hash is
 *     SHA-256(0x00 ‖ verdict envelope bytes) (RFC 9162 §2.1.1);
 *   - `index`: the verdict's leaf index in the requester's log;
 *   - `proof`: the RFC 9162 §2.1.3 inclusion proof of that leaf;
 *   - `head`: the exact bytes of the requester's signed tree head the proof is against.
 *
 * Why sealed rather than a bare structure: the receipt then travels and is
 * stored like every other message (one byte cap, one strict schema, one
 * `open()`), and its signature binds the three parts together so a receipt
 * cannot be re-assembled by a third party from someone else's pieces and
 * passed off as issued. The security does not rest on that signature alone:
 * {@link verifyReceipt} checks all three signatures, that all three have the
 * same signer (the requester), the head's own consistency link, and the
 * inclusion proof.
 */
import { bytesEqual } from './bytes.ts'
import { decodeCanonical } from './cbor.ts'
import { MAX_ENVELOPE_BYTES } from './constants.ts'
import { open, seal, sealAsync, type Envelope, type SealMeta } from './envelope.ts'
import { InvalidProofError } from './errors.ts'
import type { Identity } from './identity.ts'
import { leafHash, verifyInclusion } from './merkle.ts'
import type { MerkleLog } from './merkle-log.ts'
import type { ReceiptBody } from './schemas.ts'
import { refuse, verifyTreeHead, type Refusal, type VerifyOptions } from './tree-head.ts'

/** A receipt that verified, with its opened parts. */
export interface VerifiedReceipt {
  ok: true
  receipt: Envelope<'receipt'>
  verdict: Envelope<'verdict'>
  head: Envelope<'tree-head'>
  /** The requester's public key: signer of the receipt, the verdict and the head. */
  requester: Uint8Array
  /** Leaf index of the verdict in the requester's log. */
  index: number
  /** RFC 9162 leaf hash of the verdict envelope bytes. */
  leaf: Uint8Array
}

/** What {@link verifyReceipt} returns. */
export type ReceiptResult = VerifiedReceipt | Refusal

/**
 * Seals a receipt for the verdict at `index` of `log`, proven against the
 * signed head `head` (which must be of this requester and this log).
 * @throws {InvalidProofError} if the parts do not make a receipt that verifies (wrong index, head or signer).
 * @throws {RangeError} if `index` is outside the head's size or the log.
 * @throws {SchemaError|OversizedError|InvalidKeyError} as `seal()` does.
 */
export function issueReceipt (identity: Identity, log: MerkleLog, verdict: Uint8Array, index: number, head: Uint8Array, meta: SealMeta): Uint8Array {
  return sealReceipt(identity, receiptParts(log, verdict, index, head), meta)
}

/**
 * {@link issueReceipt} with the signature made on the platform's native
 * Ed25519 where there is one: the same bytes, without holding the thread.
 * The inclusion proof is taken from `log` before it returns, so the log may
 * grow meanwhile.
 * @returns the receipt's bytes, and what checking them opened.
 * @throws as {@link issueReceipt} does.
 */
export async function issueReceiptAsync (identity: Identity, log: MerkleLog, verdict: Uint8Array, index: number, head: Uint8Array, meta: SealMeta): Promise<IssuedReceipt> {
  const parts = receiptParts(log, verdict, index, head)
  const bytes = await sealAsync('receipt', parts, identity, meta)
  return { bytes, verified: checked(bytes) }
}

/** A receipt just sealed, and what checking it opened (for the issuer's own ledger: Ledger.addVerified). */
export interface IssuedReceipt { bytes: Uint8Array, verified: VerifiedReceipt }

/** A receipt's parts: the verdict at `index` of `log`, proven against `head`. */
function receiptParts (log: MerkleLog, verdict: Uint8Array, index: number, head: Uint8Array): ReceiptBody {
  const h = verifyTreeHead(head)
  if (!h.ok) throw new InvalidProofError(h.reason)
  return { verdict, index, proof: log.inclusionProof(index, h.envelope.body.size), head }
}

/**
 * Seals a receipt from its parts, after checking it would verify.
 * @throws {InvalidProofError} with the verifier's reason if it would not.
 * @throws {SchemaError|OversizedError|InvalidKeyError} as `seal()` does.
 */
export function sealReceipt (identity: Identity, parts: ReceiptBody, meta: SealMeta): Uint8Array {
  const bytes = seal('receipt', parts, identity, meta)
  checked(bytes)
  return bytes
}

/** What verifying `bytes` (a receipt just sealed here) opened. @throws {InvalidProofError} if it does not verify. */
function checked (bytes: Uint8Array): VerifiedReceipt {
  const check = verifyReceipt(bytes)
  if (!check.ok) throw new InvalidProofError(check.reason)
  return check
}

/**
 * Verifies a receipt offline: the receipt, verdict and tree-head signatures;
 * that all three have the same signer; the head's consistency link to its
 * predecessor; and the inclusion of leafHash(verdict bytes) at `index` under
 * the head's root and size. Never throws; the reason names the failed check.
 */
export function verifyReceipt (bytes: Uint8Array, options: VerifyOptions = {}): ReceiptResult {
  const r = open(bytes, { ...options, kinds: ['receipt'] })
  if (!r.ok) return refuse(r.error, 'receipt')
  return verifyOpenedReceipt(r.envelope as Envelope<'receipt'>, options)
}

/**
 * {@link verifyReceipt} of a receipt envelope already opened (its own
 * signature checked by `open`/`openAsync`, e.g. by a gossip validator): the
 * rest of the checks. Never throws.
 */
export function verifyOpenedReceipt (receipt: Envelope<'receipt'>, options: VerifyOptions = {}): ReceiptResult {
  const { index, proof } = receipt.body
  const v = open(receipt.body.verdict, { ...options, kinds: ['verdict'] })
  if (!v.ok) return refuse(v.error, 'verdict')
  const verdict = v.envelope as Envelope<'verdict'>
  const h = verifyTreeHead(receipt.body.head, options)
  if (!h.ok) return h
  const head = h.envelope
  if (!bytesEqual(verdict.signer, receipt.signer)) return refuse(new InvalidProofError('the verdict is signed by another key than the receipt'))
  if (!bytesEqual(head.signer, receipt.signer)) return refuse(new InvalidProofError('the tree head is signed by another key than the receipt'))
  if (index >= head.body.size) return refuse(new InvalidProofError(`leaf index ${index} is outside the tree head of size ${head.body.size}`))
  const leaf = leafHash(receipt.body.verdict)
  if (!verifyInclusion(leaf, index, head.body.size, proof, head.body.root)) {
    return refuse(new InvalidProofError(`inclusion proof of leaf ${index} does not verify under the tree head of size ${head.body.size}`))
  }
  return { ok: true, receipt, verdict, head, requester: receipt.signer, index, leaf }
}

/**
 * The leaf hash of the verdict inside receipt bytes, without checking any
 * signature: a key that is the same for every receipt of one verdict (they
 * differ only in the head they are proven against). Only for receipts that
 * were verified before (e.g. when stored); undefined if the bytes do not
 * even decode.
 */
export function receiptLeaf (bytes: Uint8Array): Uint8Array | undefined {
  const body = envelopeBody(bytes)
  return body?.verdict instanceof Uint8Array ? leafHash(body.verdict) : undefined
}

/**
 * The keys a verdict envelope credits, without checking its signature: for
 * verdicts that were verified before, or that this peer sealed. Empty if
 * the bytes do not decode as one.
 */
export function verdictCredited (bytes: Uint8Array): Uint8Array[] {
  const credited = envelopeBody(bytes)?.credited
  return Array.isArray(credited) ? credited.filter((k): k is Uint8Array => k instanceof Uint8Array) : []
}

/** An envelope's body fields, decoded only (nothing checked), if the bytes decode to one. */
function envelopeBody (bytes: Uint8Array): Record<string, unknown> | undefined {
  const decoded = decodeCanonical(bytes, MAX_ENVELOPE_BYTES)
  if (!decoded.ok) return undefined
  const body = (decoded.value as { body?: unknown } | null)?.body
  return typeof body === 'object' && body !== null ? body as Record<string, unknown> : undefined
}
