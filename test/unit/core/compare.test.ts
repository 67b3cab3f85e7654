/**
 * Replica comparison rules (src/core/compare.ts): exact, argmax along the
 * last axis, allclose as numpy.isclose; shape and name mismatches; NaN and
 * infinities; fast-check properties (reflexive for finite data, a
 * perturbation inside the tolerance agrees and one outside does not).
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { compareOutputs, argmaxRow } from '../../../src/core/compare.ts'
import { makeTensor, type TensorMap } from '../../../src/core/tensors.ts'
import type { CompareRule } from '../../../src/core/schemas.ts'

const EXACT: CompareRule = { kind: 'exact' }
const ARGMAX: CompareRule = { kind: 'argmax' }
const CLOSE: CompareRule = { kind: 'allclose', atol: 1e-5, rtol: 1e-3 }
const f32 = (dims: number[], v: number[]): TensorMap => ({ logits: makeTensor('float32', dims, v) })

describe('shape and names', () => {
  for (const rule of [EXACT, ARGMAX, CLOSE]) {
    it(`${rule.kind}: different names, dtypes or dims never agree`, () => {
      const a = f32([1, 2], [1, 2])
      expect(compareOutputs(rule, a, a).equal).toBe(true)
      expect(compareOutputs(rule, a, { other: a.logits! }).reason).toMatch(/names differ/)
      expect(compareOutputs(rule, a, { ...a, extra: a.logits! }).equal).toBe(false)
      expect(compareOutputs(rule, a, f32([2, 1], [1, 2])).reason).toMatch(/dims/)
      expect(compareOutputs(rule, a, f32([2], [1, 2])).reason).toMatch(/dims/)
      expect(compareOutputs(rule, a, { logits: makeTensor('float64', [1, 2], [1, 2]) }).reason).toMatch(/dtype/)
    })
  }
})

describe('exact', () => {
  it('compares bytes: 0 and -0 differ, the same NaN bits agree', () => {
    expect(compareOutputs(EXACT, f32([1], [0]), f32([1], [-0])).equal).toBe(false)
    expect(compareOutputs(EXACT, f32([1], [NaN]), f32([1], [NaN])).equal).toBe(true)
    expect(compareOutputs(EXACT, f32([2], [1, 2]), f32([2], [1, 2 + 2 ** -20])).equal).toBe(false)
  })
})

describe('argmax', () => {
  it('compares the argmax of every row of an [N, C] tensor', () => {
    const a = f32([2, 3], [0.1, 0.7, 0.2, 5, 1, 2])
    expect(compareOutputs(ARGMAX, a, f32([2, 3], [0.3, 0.31, 0.2, 9, -1, 8])).equal).toBe(true)
    expect(compareOutputs(ARGMAX, a, f32([2, 3], [0.1, 0.7, 0.2, 1, 5, 2])).reason).toMatch(/row 1 argmax 0 vs 1/)
  })

  it('reads higher-rank tensors as rows along the last axis', () => {
    const a = f32([2, 2, 2], [1, 0, 0, 1, 1, 0, 0, 1])
    expect(compareOutputs(ARGMAX, a, f32([2, 2, 2], [3, 2, 2, 3, 9, 8, 0, 0.5])).equal).toBe(true)
    expect(compareOutputs(ARGMAX, a, f32([2, 2, 2], [3, 2, 2, 3, 9, 8, 0.5, 0])).reason).toMatch(/row 3/)
  })

  it('takes the first index on ties and refuses rows with NaN', () => {
    expect(argmaxRow([1, 3, 3], 0, 3)).toBe(1)
    expect(argmaxRow([-Infinity, -Infinity], 0, 2)).toBe(0)
    expect(argmaxRow([1, NaN], 0, 2)).toBe(-1)
    expect(compareOutputs(ARGMAX, f32([2], [1, NaN]), f32([2], [1, NaN])).equal).toBe(false)
  })

  it('compares integer outputs value for value', () => {
    const labels = (v: number[]): TensorMap => ({ label: makeTensor('int64', [v.length], v) })
    expect(compareOutputs(ARGMAX, labels([3, 1]), labels([3, 1])).equal).toBe(true)
    expect(compareOutputs(ARGMAX, labels([3, 1]), labels([3, 2])).equal).toBe(false)
  })
})

describe('allclose', () => {
  it('uses |a − b| ≤ atol + rtol·|b|', () => {
    expect(compareOutputs(CLOSE, f32([1], [1000]), f32([1], [1000.5])).equal).toBe(true)
    expect(compareOutputs(CLOSE, f32([1], [1000]), f32([1], [1002])).equal).toBe(false)
    expect(compareOutputs(CLOSE, f32([1], [0]), f32([1], [5e-6])).equal).toBe(true)
    expect(compareOutputs(CLOSE, f32([1], [0]), f32([1], [2e-5])).equal).toBe(false)
    const abs: CompareRule = { kind: 'allclose', atol: 0.1, rtol: 0 }
    expect(compareOutputs(abs, { x: makeTensor('float64', [1], [1.0]) }, { x: makeTensor('float64', [1], [1.1]) }).equal).toBe(false)
    expect(compareOutputs(abs, { x: makeTensor('float64', [1], [1.0]) }, { x: makeTensor('float64', [1], [1.0999]) }).equal).toBe(true)
  })

  it('never agrees on NaN; an infinity agrees only with itself', () => {
    expect(compareOutputs(CLOSE, f32([1], [NaN]), f32([1], [NaN])).equal).toBe(false)
    expect(compareOutputs(CLOSE, f32([1], [Infinity]), f32([1], [Infinity])).equal).toBe(true)
    expect(compareOutputs(CLOSE, f32([1], [Infinity]), f32([1], [-Infinity])).equal).toBe(false)
    expect(compareOutputs(CLOSE, f32([1], [1e38]), f32([1], [Infinity])).equal).toBe(false)
  })

  it('compares integer outputs value for value (labels, not magnitudes)', () => {
    const rec: CompareRule = { kind: 'allclose', atol: 0.02, rtol: 0.01 }
    const best = (v: number[]): TensorMap => ({ best: makeTensor('int32', [1, v.length], v) })
    expect(compareOutputs(rec, best([6600, 12]), best([6600, 12])).equal).toBe(true)
    // Within 0.02 + 0.01·6560 of each other, yet another character.
    expect(compareOutputs(rec, best([6600, 12]), best([6560, 12]))).toMatchObject({ equal: false, reason: 'best[0]: 6600 vs 6560' })
  })

  it('agrees inside the tolerance and not outside (property)', () => {
    const rule = { kind: 'allclose' as const, atol: 1e-4, rtol: 1e-2 }
    fc.assert(fc.property(
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 16 }),
      fc.nat(), fc.double({ min: 0, max: 0.9, noNaN: true }),
      (values, at, frac) => {
        const b = { y: makeTensor('float64', [values.length], values) }
        const i = at % values.length
        const tol = rule.atol + rule.rtol * Math.abs(values[i]!)
        const near = values.map((v, j) => j === i ? v + frac * tol : v)
        const far = values.map((v, j) => j === i ? v + 1.5 * tol : v)
        expect(compareOutputs(rule, b, b).equal).toBe(true)
        expect(compareOutputs(rule, { y: makeTensor('float64', [values.length], near) }, b).equal).toBe(true)
        expect(compareOutputs(rule, { y: makeTensor('float64', [values.length], far) }, b).equal).toBe(false)
      }), { numRuns: 200 })
  })
})
