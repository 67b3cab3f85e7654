/**
 * The transparency-log Merkle tree of RFC 9162 §2.1 (same hashing as RFC 6962
 * §2.1): leaf hash = SHA-256(0x00 ‖ data), interior node = SHA-256(0x01 ‖
 * left ‖ right), and the tree over n leaves splits at the largest power of two
 * smaller than n. Every requester keeps its verdicts in such a log; receipts
 * carry inclusion proofs into it and peers check consistency proofs between
 * successive signed tree heads, so a log can only ever grow.
 *
 * This file holds the reference functions over a plain list of leaves (their
 * names and shapes are a public contract: outside checkers call them) and the
 * two verifiers, which are what every peer runs on untrusted proofs. The
 * verifiers return false, never throw, on any malformed input. The
 * incremental log for large trees is in merkle-log.ts and shares the proof
 * construction below.
 */
import { sha256 } from '@noble/hashes/sha2.js'

/** Bytes of a SHA-256 hash, and so of every node and proof entry. */
export const HASH_BYTES = 32

/** Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0))

const LEAF_PREFIX = new Uint8Array([0x00])
const NODE_PREFIX = new Uint8Array([0x01])

/** RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash (data: Uint8Array): Uint8Array {
  return sha256.create().update(LEAF_PREFIX).update(data).digest()
}

/** RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256.create().update(NODE_PREFIX).update(left).update(right).digest()
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * The hash of the subtree over leaves [start, end), where `start` is a
 * multiple of a power of two ≥ end − start (true of every subtree RFC 9162
 * proofs name). Implementations may cache.
 */
export type SubtreeHash = (start: number, end: number) => Uint8Array

/** RFC 9162 §2.1.3.1 PATH(m, D[start:end]), leaf-side first. */
export function buildInclusionPath (subtree: SubtreeHash, index: number, start: number, end: number): Uint8Array[] {
  const path: Uint8Array[] = []
  // Walk down from the root, collecting siblings; emit them leaf-side first.
  while (end - start > 1) {
    const k = splitPoint(end - start)
    if (index - start < k) {
      path.push(subtree(start + k, end))
      end = start + k
    } else {
      path.push(subtree(start, start + k))
      start = start + k
    }
  }
  return path.reverse()
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[0:n], true). Empty when m is 0 or n. */
export function buildConsistencyProof (subtree: SubtreeHash, oldSize: number, newSize: number): Uint8Array[] {
  if (oldSize === 0 || oldSize === newSize) return []
  const proof: Uint8Array[] = []
  let start = 0
  let end = newSize
  let m = oldSize
  let complete = true
  // SUBPROOF(m, D[start:end], complete), unrolled; entries come out root-side first.
  while (m !== end - start) {
    const k = splitPoint(end - start)
    if (m <= k) {
      proof.push(subtree(start + k, end))
      end = start + k
    } else {
      proof.push(subtree(start, start + k))
      start = start + k
      m -= k
      complete = false
    }
  }
  if (!complete) proof.push(subtree(start, end))
  return proof.reverse()
}

function checkLeaves (leaves: Uint8Array[]): void {
  if (!Array.isArray(leaves) || leaves.some(l => !(l instanceof Uint8Array))) throw new TypeError('leaves must be an array of Uint8Array')
}

/** MTH over a list of leaf hashes, by the definition (used for the pure functions). */
function listSubtree (hashes: Uint8Array[]): SubtreeHash {
  const mth = (start: number, end: number): Uint8Array => {
    if (end - start === 1) return hashes[start]!
    const k = splitPoint(end - start)
    return nodeHash(mth(start, start + k), mth(start + k, end))
  }
  return mth
}

/**
 * RFC 9162 §2.1.1 Merkle Tree Hash of `leaves` (leaf data, not hashes).
 * The empty list gives SHA-256 of the empty string.
 * @throws {TypeError} if `leaves` is not an array of Uint8Array.
 */
export function rootHash (leaves: Uint8Array[]): Uint8Array {
  checkLeaves(leaves)
  if (leaves.length === 0) return EMPTY_ROOT.slice()
  return listSubtree(leaves.map(leafHash))(0, leaves.length)
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree over `leaves`.
 * @throws {TypeError} if `leaves` is not an array of Uint8Array.
 * @throws {RangeError} if `index` is not an integer in [0, leaves.length).
 */
export function inclusionProof (leaves: Uint8Array[], index: number): Uint8Array[] {
  checkLeaves(leaves)
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`index ${index} outside [0, ${leaves.length})`)
  return buildInclusionPath(listSubtree(leaves.map(leafHash)), index, 0, leaves.length)
}

/**
 * RFC 9162 §2.1.4.1 consistency proof between the first `oldSize` leaves and all of `leaves`.
 * @throws {TypeError} if `leaves` is not an array of Uint8Array.
 * @throws {RangeError} if `oldSize` is not an integer in [0, leaves.length].
 */
export function consistencyProof (leaves: Uint8Array[], oldSize: number): Uint8Array[] {
  checkLeaves(leaves)
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > leaves.length) throw new RangeError(`oldSize ${oldSize} outside [0, ${leaves.length}]`)
  return buildConsistencyProof(listSubtree(leaves.map(leafHash)), oldSize, leaves.length)
}

function isHash (h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_BYTES
}

/** A proof for a tree of at most 2^53 leaves has at most 55 entries; 64 bounds the work on hostile input. */
function isProof (proof: unknown): proof is Uint8Array[] {
  return Array.isArray(proof) && proof.length <= 64 && proof.every(isHash)
}

function isCount (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const odd = (x: number): boolean => x % 2 === 1
const half = (x: number): number => Math.floor(x / 2)

/**
 * RFC 9162 §2.1.3.2: true iff `proof` shows the leaf with hash `leafHash` at
 * `index` in the tree of `size` leaves with root `root`. Never throws.
 * (Sizes are safe integers, so shifts are done with arithmetic, not 32-bit `>>`.)
 */
export function verifyInclusion (leafHash: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!isHash(leafHash) || !isHash(root) || !isProof(proof) || !isCount(index) || !isCount(size)) return false
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn) }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && equal(r, root)
}

/**
 * RFC 9162 §2.1.4.2: true iff `proof` shows the tree of `newSize` leaves with
 * root `newRoot` extends the tree of `oldSize` leaves with root `oldRoot`.
 * Equal sizes need equal roots and an empty proof; size 0 needs the empty
 * root and an empty proof. Never throws.
 */
export function verifyConsistency (oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: Uint8Array[]): boolean {
  if (!isCount(oldSize) || !isCount(newSize) || !isHash(oldRoot) || !isHash(newRoot) || !isProof(proof)) return false
  if (oldSize > newSize) return false
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot)
  if (oldSize === 0) return proof.length === 0 && equal(oldRoot, EMPTY_ROOT)
  if (proof.length === 0) return false
  // Step 2: if oldSize is a power of two, the old root is the first node of the path.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof
  let fn = oldSize - 1
  let sn = newSize - 1
  while (odd(fn)) { fn = half(fn); sn = half(sn) }
  let fr = path[0]!
  let sr = path[0]!
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn) }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return equal(fr, oldRoot) && equal(sr, newRoot) && sn === 0
}

function isPowerOfTwo (n: number): boolean {
  while (n > 1) {
    if (odd(n)) return false
    n = half(n)
  }
  return n === 1
}
