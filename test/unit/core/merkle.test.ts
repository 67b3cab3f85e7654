/**
 * RFC 9162 Merkle tree (src/core/merkle.ts, src/core/merkle-log.ts):
 * the RFC 6962 / CT reference tree (roots for sizes 0..8, inclusion and
 * consistency proofs, and the corruptions transparency-dev/merkle probes),
 * agreement between the reference functions and the incremental log, and
 * fast-check properties: every generated proof verifies, and any single bit
 * flip, wrong index or wrong size fails.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  EMPTY_ROOT, consistencyProof, inclusionProof, leafHash, nodeHash, rootHash, verifyConsistency, verifyInclusion
} from '../../../src/core/merkle.ts'
import { MerkleLog } from '../../../src/core/merkle-log.ts'
import { fromHex, toHex, sha256 } from '../../../src/core/bytes.ts'
import { CONSISTENCY, INCLUSION, LEAVES_HEX, ROOTS_HEX } from '../vectors/rfc6962.ts'
import { NOT_BYTES } from '../vectors/junk.ts'

const leaves = LEAVES_HEX.map(fromHex)
const roots = ROOTS_HEX.map(fromHex)
const hexes = (p: Uint8Array[]): string[] => p.map(toHex)
const data = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, 7))
const sameList = (a: Uint8Array[], b: Uint8Array[]): boolean => a.length === b.length && a.every((x, i) => toHex(x) === toHex(b[i]!))

function flipBit (bytes: Uint8Array, bit: number): Uint8Array {
  const c = bytes.slice()
  c[Math.floor(bit / 8) % c.length] = c[Math.floor(bit / 8) % c.length]! ^ (1 << (bit % 8))
  return c
}

/**
 * The proofs obtained by flipping one bit of one entry: bits 0, 7, 100 and
 * 255 of each entry, and `drawn`, a position fast-check picks per run, so
 * over the runs any bit of an entry may be the one flipped.
 */
function bitFlips (proof: Uint8Array[], drawn: number): Uint8Array[][] {
  const out: Uint8Array[][] = []
  for (let i = 0; i < proof.length; i++) {
    for (const bit of [0, 7, 100, 255, drawn]) out.push(proof.map((p, j) => j === i ? flipBit(p, bit) : p))
  }
  return out
}

describe('RFC 6962 reference tree (CT test vectors)', () => {
  it('hashes leaves and nodes with the RFC 9162 §2.1.1 domain prefixes', () => {
    expect(leafHash(new Uint8Array(0))).toEqual(sha256(Uint8Array.of(0)))
    expect(nodeHash(roots[1]!, roots[1]!)).toEqual(sha256(Uint8Array.of(1, ...roots[1]!, ...roots[1]!)))
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('roots for sizes 0..8, from the reference function and the incremental log', () => {
    const log = new MerkleLog()
    expect(toHex(log.root())).toBe(ROOTS_HEX[0])
    for (let n = 0; n <= 8; n++) {
      expect(toHex(rootHash(leaves.slice(0, n)))).toBe(ROOTS_HEX[n])
      if (n > 0) log.append(leaves[n - 1]!)
      expect(toHex(log.root())).toBe(ROOTS_HEX[n])
    }
    for (let n = 0; n <= 8; n++) expect(toHex(log.root(n))).toBe(ROOTS_HEX[n])
  })

  for (const v of INCLUSION) {
    it(`inclusion of leaf ${v.index} in size ${v.size}: generated, verified, and every corruption refused`, () => {
      const tree = leaves.slice(0, v.size)
      const log = new MerkleLog()
      for (const l of tree) log.append(l)
      expect(hexes(inclusionProof(tree, v.index))).toEqual(v.proof)
      expect(hexes(log.inclusionProof(v.index))).toEqual(v.proof)
      const proof = v.proof.map(fromHex)
      const leaf = leafHash(leaves[v.index]!)
      const root = roots[v.size]!
      expect(verifyInclusion(leaf, v.index, v.size, proof, root)).toBe(true)
      // The probes of transparency-dev/merkle corruptInclusionProof().
      const some = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456')
      const probes: Array<[string, Parameters<typeof verifyInclusion>]> = [
        ['index - 1', [leaf, v.index - 1, v.size, proof, root]],
        ['index + 1', [leaf, v.index + 1, v.size, proof, root]],
        ['index ^ 2', [leaf, v.index ^ 2, v.size, proof, root]],
        ['size * 2', [leaf, v.index, v.size * 2, proof, root]],
        ['size / 2', [leaf, v.index, Math.floor(v.size / 2), proof, root]],
        ['wrong leaf', [leafHash(new TextEncoder().encode('WrongLeaf')), v.index, v.size, proof, root]],
        ['empty root', [leaf, v.index, v.size, proof, EMPTY_ROOT]],
        ['random root', [leaf, v.index, v.size, proof, some]],
        ['trailing garbage', [leaf, v.index, v.size, [...proof, new Uint8Array(0)], root]],
        ['trailing root', [leaf, v.index, v.size, [...proof, root], root]],
        ['preceding garbage', [leaf, v.index, v.size, [new Uint8Array(0), ...proof], root]],
        ['preceding root', [leaf, v.index, v.size, [root, ...proof], root]],
        ...proof.map((_, i): [string, Parameters<typeof verifyInclusion>] => [`proof[${i}] bit 3`, [leaf, v.index, v.size, proof.map((p, j) => j === i ? flipBit(p, 3) : p), root]]),
        ...(proof.length > 0 ? [['removed component', [leaf, v.index, v.size, proof.slice(0, -1), root]] as [string, Parameters<typeof verifyInclusion>]] : []),
        ...(proof.length > 1 ? [['inserted component', [leaf, v.index, v.size, [proof[0]!, some, ...proof.slice(1)], root]] as [string, Parameters<typeof verifyInclusion>]] : [])
      ]
      const accepted = probes.filter(([, args]) => verifyInclusion(...args)).map(([why]) => why)
      expect(accepted).toEqual([])
    })
  }

  for (const v of CONSISTENCY) {
    it(`consistency ${v.size1} → ${v.size2}: generated, verified, and every corruption refused`, () => {
      const tree = leaves.slice(0, v.size2)
      const log = new MerkleLog()
      for (const l of tree) log.append(l)
      expect(hexes(consistencyProof(tree, v.size1))).toEqual(v.proof)
      expect(hexes(log.consistencyProof(v.size1))).toEqual(v.proof)
      const proof = v.proof.map(fromHex)
      const [r1, r2] = [roots[v.size1]!, roots[v.size2]!]
      expect(verifyConsistency(v.size1, v.size2, r1, r2, proof)).toBe(true)
      if (proof.length === 0) return
      // The probes of transparency-dev/merkle corruptConsistencyProof().
      const wrong = new TextEncoder().encode('WrongRoot')
      const probes: Array<[string, Parameters<typeof verifyConsistency>]> = [
        ['size1 - 1', [v.size1 - 1, v.size2, r1, r2, proof]],
        ['size1 + 1', [v.size1 + 1, v.size2, r1, r2, proof]],
        ['size1 ^ 2', [v.size1 ^ 2, v.size2, r1, r2, proof]],
        ['size2 * 2', [v.size1, v.size2 * 2, r1, r2, proof]],
        ['size2 / 2', [v.size1, Math.floor(v.size2 / 2), r1, r2, proof]],
        ['wrong root1', [v.size1, v.size2, wrong, r2, proof]],
        ['wrong root2', [v.size1, v.size2, r1, wrong, proof]],
        ['swapped roots', [v.size1, v.size2, r2, r1, proof]],
        ['empty proof', [v.size1, v.size2, r1, r2, []]],
        ['trailing garbage', [v.size1, v.size2, r1, r2, [...proof, new Uint8Array(0)]]],
        ['trailing root1', [v.size1, v.size2, r1, r2, [...proof, r1]]],
        ['trailing root2', [v.size1, v.size2, r1, r2, [...proof, r2]]],
        ['preceding garbage', [v.size1, v.size2, r1, r2, [new Uint8Array(0), ...proof]]],
        ['preceding root1', [v.size1, v.size2, r1, r2, [r1, ...proof]]],
        ['preceding root2', [v.size1, v.size2, r1, r2, [r2, ...proof]]],
        ['preceding proof[0]', [v.size1, v.size2, r1, r2, [proof[0]!, ...proof]]],
        ['truncated proof', [v.size1, v.size2, r1, r2, proof.slice(0, -1)]],
        ...proof.map((_, i): [string, Parameters<typeof verifyConsistency>] => [`proof[${i}] bit 4`, [v.size1, v.size2, r1, r2, proof.map((p, j) => j === i ? flipBit(p, 4) : p)]])
      ]
      const accepted = probes.filter(([, args]) => verifyConsistency(...args)).map(([why]) => why)
      expect(accepted).toEqual([])
    })
  }

  it('edge cases of transparency-dev TestVerifyConsistency / TestVerifyInclusion', () => {
    const e = EMPTY_ROOT
    const r = roots[1]!
    expect(verifyConsistency(0, 0, e, e, [])).toBe(true)
    expect(verifyConsistency(0, 1, e, r, [])).toBe(true)
    expect(verifyConsistency(1, 1, r, r, [])).toBe(true)
    expect(verifyConsistency(1, 1, r, roots[2]!, [])).toBe(false)
    expect(verifyConsistency(0, 0, e, r, [])).toBe(false)
    expect(verifyConsistency(1, 0, r, e, [])).toBe(false) // time travel
    expect(verifyConsistency(2, 1, roots[2]!, r, [])).toBe(false)
    expect(verifyConsistency(1, 2, r, roots[2]!, [])).toBe(false) // empty proof
    expect(verifyConsistency(0, 0, e, e, [e])).toBe(false) // roots match but proof not empty
    expect(verifyConsistency(0, 1, e, e, [e])).toBe(false)
    expect(verifyConsistency(1, 1, e, e, [e])).toBe(false)
    expect(verifyConsistency(0, 1, r, r, [])).toBe(false) // size 0 must have the empty root
    for (const [index, size] of [[0, 0], [1, 0], [2, 1], [1, 1]] as const) {
      expect(verifyInclusion(leafHash(leaves[0]!), index, size, [], r)).toBe(false)
    }
    const single = leafHash(new TextEncoder().encode('data'))
    expect(verifyInclusion(single, 0, 1, [], single)).toBe(true)
    expect(verifyInclusion(single, 0, 1, [], new Uint8Array(0))).toBe(false)
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], single)).toBe(false)
  })
})

describe('verifiers on hostile input', () => {
  it('return false and never throw', () => {
    const leaf = leafHash(leaves[0]!)
    const proof = INCLUSION[1]!.proof.map(fromHex)
    const root = roots[8]!
    const badNumbers: unknown[] = [-1, 1.5, NaN, Infinity, 2 ** 53, '0', null, undefined, 0n]
    for (const junk of NOT_BYTES) {
      expect(verifyInclusion(junk as Uint8Array, 0, 8, proof, root)).toBe(false)
      expect(verifyInclusion(leaf, 0, 8, proof, junk as Uint8Array)).toBe(false)
      expect(verifyInclusion(leaf, 0, 8, junk as Uint8Array[], root)).toBe(false)
      expect(verifyInclusion(leaf, 0, 8, [junk as Uint8Array], root)).toBe(false)
      expect(verifyConsistency(1, 8, junk as Uint8Array, root, proof)).toBe(false)
      expect(verifyConsistency(1, 8, leaf, root, junk as Uint8Array[])).toBe(false)
    }
    for (const n of badNumbers) {
      expect(verifyInclusion(leaf, n as number, 8, proof, root)).toBe(false)
      expect(verifyInclusion(leaf, 0, n as number, proof, root)).toBe(false)
      expect(verifyConsistency(n as number, 8, leaf, root, proof)).toBe(false)
      expect(verifyConsistency(1, n as number, leaf, root, proof)).toBe(false)
    }
    expect(verifyInclusion(leaf, 0, 8, Array.from({ length: 1000 }, () => root), root)).toBe(false)
  })

  it('builders throw RangeError/TypeError on programmer error', () => {
    expect(() => inclusionProof(leaves, 8)).toThrow(RangeError)
    expect(() => inclusionProof([], 0)).toThrow(RangeError)
    expect(() => inclusionProof(leaves, -1)).toThrow(RangeError)
    expect(() => consistencyProof(leaves, 9)).toThrow(RangeError)
    expect(() => rootHash(['x'] as unknown as Uint8Array[])).toThrow(TypeError)
    const log = new MerkleLog()
    log.append(leaves[0]!)
    expect(() => log.inclusionProof(1)).toThrow(RangeError)
    expect(() => log.root(2)).toThrow(RangeError)
    expect(() => log.consistencyProof(2, 1)).toThrow(RangeError)
    expect(() => log.appendLeafHash(new Uint8Array(31))).toThrow(TypeError)
  })
})

describe('incremental log agrees with the reference functions', () => {
  it('roots, every inclusion proof and every consistency proof, sizes 0..70', () => {
    const all = data(70)
    const log = new MerkleLog()
    for (let n = 0; n <= all.length; n++) {
      if (n > 0) expect(log.append(all[n - 1]!)).toBe(n - 1)
      const tree = all.slice(0, n)
      expect(toHex(log.root())).toBe(toHex(rootHash(tree)))
      for (let i = 0; i < n; i++) expect(hexes(log.inclusionProof(i))).toEqual(hexes(inclusionProof(tree, i)))
      for (let m = 0; m <= n; m++) expect(hexes(log.consistencyProof(m))).toEqual(hexes(consistencyProof(tree, m)))
    }
    // Proofs for past sizes come from the same log.
    for (let n = 1; n <= 70; n += 7) {
      expect(toHex(log.root(n))).toBe(toHex(rootHash(all.slice(0, n))))
      expect(hexes(log.inclusionProof(n - 1, n))).toEqual(hexes(inclusionProof(all.slice(0, n), n - 1)))
      expect(hexes(log.consistencyProof(Math.min(3, n), n))).toEqual(hexes(consistencyProof(all.slice(0, n), Math.min(3, n))))
    }
    expect(log.leafHash(5)).toEqual(leafHash(all[5]!))
  })
})

describe('properties (fast-check)', () => {
  // One shared log so each run only slices it: sizes up to 300.
  const all = data(300)
  const log = new MerkleLog()
  for (const d of all) log.append(d)

  it('every inclusion proof verifies; any single bit flip, wrong index or wrong size fails', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.integer({ min: 1, max: 301 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (size, rawIndex, otherSize, otherIndex, drawn) => {
      const index = rawIndex % size
      const proof = log.inclusionProof(index, size)
      const leaf = log.leafHash(index)
      const root = log.root(size)
      expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true)
      for (const flipped of bitFlips(proof, drawn)) expect(verifyInclusion(leaf, index, size, flipped, root)).toBe(false)
      for (const bit of [0, 9, 255, drawn]) {
        expect(verifyInclusion(flipBit(leaf, bit), index, size, proof, root)).toBe(false)
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, bit))).toBe(false)
      }
      const j = otherIndex % (size + 2)
      if (j !== index) expect(verifyInclusion(leaf, j, size, proof, root)).toBe(false)
      // A size only means something together with its root (both are in one
      // signed tree head): for another size and that size's root, only that
      // size's own proof may verify.
      if (otherSize !== size && otherSize <= 300) {
        const ok = verifyInclusion(leaf, index, otherSize, proof, log.root(otherSize))
        expect(ok).toBe(index < otherSize && sameList(proof, log.inclusionProof(index, otherSize)))
      }
      if (size > 1) {
        expect(verifyInclusion(leaf, index, size * 2, proof, root)).toBe(false)
        expect(verifyInclusion(leaf, index, Math.floor(size / 2), proof, root)).toBe(false)
      }
    }), { numRuns: 300 })
  })

  it('every consistency proof verifies; any single bit flip or wrong size fails', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 255 }), (newSize, rawOld, otherOld, otherNew, drawn) => {
      const oldSize = rawOld % (newSize + 1)
      const proof = log.consistencyProof(oldSize, newSize)
      const [r1, r2] = [log.root(oldSize), log.root(newSize)]
      expect(verifyConsistency(oldSize, newSize, r1, r2, proof)).toBe(true)
      for (const flipped of bitFlips(proof, drawn)) expect(verifyConsistency(oldSize, newSize, r1, r2, flipped)).toBe(false)
      if (oldSize !== newSize) {
        for (const bit of [0, 77, 255, drawn]) {
          expect(verifyConsistency(oldSize, newSize, flipBit(r1, bit), r2, proof)).toBe(false)
          // Every tree extends the empty one, whatever its root: only a non-empty old tree pins the new root.
          if (oldSize > 0) expect(verifyConsistency(oldSize, newSize, r1, flipBit(r2, bit), proof)).toBe(false)
        }
      }
      if (otherOld !== oldSize && otherOld <= newSize) {
        const ok = verifyConsistency(otherOld, newSize, log.root(otherOld), r2, proof)
        expect(ok).toBe(sameList(proof, log.consistencyProof(otherOld, newSize)))
      }
      if (otherNew !== newSize && otherNew >= oldSize) {
        const ok = verifyConsistency(oldSize, otherNew, r1, log.root(otherNew), proof)
        expect(ok).toBe(sameList(proof, log.consistencyProof(oldSize, otherNew)))
      }
      if (oldSize > 0 && oldSize < newSize) {
        expect(verifyConsistency(oldSize, newSize * 2, r1, r2, proof)).toBe(false)
        expect(verifyConsistency(oldSize, Math.floor(newSize / 2), r1, r2, proof)).toBe(false)
        expect(verifyConsistency(oldSize, newSize, r2, r1, proof)).toBe(false)
      }
    }), { numRuns: 300 })
  })
})
