/**
 * An append-only Merkle log (RFC 9162 §2.1 hashing, see merkle.ts) for logs
 * of millions of entries. It keeps every complete ("perfect") subtree hash,
 * level by level, in flat growable byte arrays: level 0 holds the leaf
 * hashes, level L holds one hash per aligned block of 2^L leaves. That is
 * ~2 hashes (64 bytes) per leaf, with no per-node objects.
 *
 * - append: hashes the leaf, then completes at most log2(n) parents (amortised 2 hashes).
 * - the hash of any proof subtree [start, end) is a fold of at most log2(n)
 *   stored blocks, so a root (at any past size) costs O(log n) and an
 *   inclusion or consistency proof O(log² n) hashes in the worst case,
 *   independent of how many leaves the log holds.
 *
 * Past tree heads stay provable: stored nodes never change, so roots and
 * proofs for any earlier size come from the same arrays.
 */
import { HASH_BYTES, buildConsistencyProof, buildInclusionPath, EMPTY_ROOT, leafHash, nodeHash } from './merkle.ts'

/** One tree level: `count` hashes of 32 bytes in a buffer that doubles when full. */
class Level {
  buf = new Uint8Array(HASH_BYTES * 16)
  count = 0

  push (hash: Uint8Array): void {
    if ((this.count + 1) * HASH_BYTES > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2)
      bigger.set(this.buf)
      this.buf = bigger
    }
    this.buf.set(hash, this.count * HASH_BYTES)
    this.count++
  }

  /** A view (no copy) of hash `i`; callers copy before handing it out. */
  at (i: number): Uint8Array {
    return this.buf.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)
  }
}

/** Incremental RFC 9162 log. Not thread-safe; one writer. */
export class MerkleLog {
  private readonly levels: Level[] = [new Level()]

  /** Number of leaves appended. */
  get size (): number {
    return this.levels[0]!.count
  }

  /** Appends leaf data; returns its index. */
  append (data: Uint8Array): number {
    return this.appendLeafHash(leafHash(data))
  }

  /**
   * Appends an already computed leaf hash (SHA-256(0x00 ‖ data)); returns its index.
   * @throws {TypeError} if `hash` is not 32 bytes.
   */
  appendLeafHash (hash: Uint8Array): number {
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) throw new TypeError('leaf hash must be 32 bytes')
    const index = this.size
    this.levels[0]!.push(hash)
    // Complete every parent whose right child was just finished.
    let level = 0
    let i = index
    while (i % 2 === 1) {
      const here = this.levels[level]!
      const parent = nodeHash(here.at(i - 1), here.at(i))
      if (this.levels[level + 1] === undefined) this.levels.push(new Level())
      this.levels[level + 1]!.push(parent)
      level++
      i = (i - 1) / 2
    }
    return index
  }

  /**
   * Leaf hash at `index` (a copy).
   * @throws {RangeError} if `index` is not in [0, size).
   */
  leafHash (index: number): Uint8Array {
    this.checkIndex(index, this.size)
    return this.levels[0]!.at(index).slice()
  }

  /**
   * Root of the first `size` leaves (default: all). RFC 9162 §2.1.1.
   * @throws {RangeError} if `size` is not in [0, this.size].
   */
  root (size: number = this.size): Uint8Array {
    this.checkSize(size)
    return size === 0 ? EMPTY_ROOT.slice() : this.subtree(0, size).slice()
  }

  /**
   * Inclusion proof of leaf `index` in the tree of the first `size` leaves. RFC 9162 §2.1.3.1.
   * @throws {RangeError} if `size` is not in [1, this.size] or `index` not in [0, size).
   */
  inclusionProof (index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size)
    this.checkIndex(index, size)
    return buildInclusionPath(this.subtreeFn, index, 0, size).map(h => h.slice())
  }

  /**
   * Consistency proof from the first `oldSize` leaves to the first `newSize`. RFC 9162 §2.1.4.1.
   * @throws {RangeError} unless 0 ≤ oldSize ≤ newSize ≤ size.
   */
  consistencyProof (oldSize: number, newSize: number = this.size): Uint8Array[] {
    this.checkSize(newSize)
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) throw new RangeError(`oldSize ${oldSize} outside [0, ${newSize}]`)
    return buildConsistencyProof(this.subtreeFn, oldSize, newSize).map(h => h.slice())
  }

  private readonly subtreeFn = (start: number, end: number): Uint8Array => this.subtree(start, end)

  /**
   * MTH(D[start:end]) for an aligned range: split it into stored perfect
   * blocks of decreasing size (the binary digits of end − start) and fold
   * them right to left, which is exactly how RFC 9162 splits a tree.
   */
  private subtree (start: number, end: number): Uint8Array {
    const blocks: Uint8Array[] = []
    let pos = start
    while (pos < end) {
      let level = 0
      while (pos % 2 ** (level + 1) === 0 && pos + 2 ** (level + 1) <= end) level++
      blocks.push(this.levels[level]!.at(pos / 2 ** level))
      pos += 2 ** level
    }
    let h = blocks[blocks.length - 1]!
    for (let i = blocks.length - 2; i >= 0; i--) h = nodeHash(blocks[i]!, h)
    return h
  }

  private checkSize (size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`size ${size} outside [0, ${this.size}]`)
  }

  private checkIndex (index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`index ${index} outside [0, ${size})`)
  }
}
