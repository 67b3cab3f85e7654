/**
 * Whether two replicas' outputs agree under a model's comparison rule
 * (DESIGN.md "Determinism"; schemas.ts `CompareRule`). The scheduler groups
 * replicas with this (through an injected comparator, so it never decodes
 * tensors itself).
 *
 * Common to every rule: both maps hold the same tensor names, and each pair
 * of tensors has the same dtype and dims. Then:
 * - `exact`: the raw bytes are equal (bit-identical, e.g. WASM with the same
 *   thread count). Floats are compared as bytes, never with `===` on values.
 * - `argmax`: each floating-point output is read as rows along its last axis
 *   (an [N, C] logits tensor is N rows of C classes; [B, T, C] is B·T rows;
 *   a rank-0 or rank-1 tensor is a single row), and the index of the largest
 *   value (first one on ties) must be equal in every row. A row holding NaN
 *   never agrees. Integer and bool outputs are already labels or ids, so they
 *   must be equal value for value.
 * - `allclose`: elementwise |a − b| ≤ atol + rtol·|b| (numpy.isclose, so `b`
 *   is the reference); NaN never agrees (not even with NaN); an infinity
 *   agrees only with the same infinity. Integer and bool outputs are labels
 *   or ids here too (an OCR line's likeliest class per step): equal value
 *   for value, or class 6,600 would be "close" to 6,560 by the rtol.
 */
import { bytesEqual } from './bytes.ts'
import type { CompareRule } from './schemas.ts'
import { tensorValues, type TensorData, type TensorMap } from './tensors.ts'

/** Result of {@link compareOutputs}; `reason` names the first disagreement. */
export interface CompareResult {
  equal: boolean
  reason?: string
}

const FLOAT = new Set(['float32', 'float64'])

/**
 * Compares replica outputs `a` and `b` (`b` is the reference for `allclose`).
 * Pure; never throws on well-formed tensors (decodeTensors output).
 */
export function compareOutputs (rule: CompareRule, a: TensorMap, b: TensorMap): CompareResult {
  const namesA = Object.keys(a).sort()
  const namesB = Object.keys(b).sort()
  if (namesA.length !== namesB.length || namesA.some((n, i) => n !== namesB[i])) {
    return { equal: false, reason: `output names differ: [${namesA.join(', ')}] vs [${namesB.join(', ')}]` }
  }
  for (const name of namesA) {
    const ta = a[name]!
    const tb = b[name]!
    if (ta.dtype !== tb.dtype) return { equal: false, reason: `${name}: dtype ${ta.dtype} vs ${tb.dtype}` }
    if (ta.dims.length !== tb.dims.length || ta.dims.some((d, i) => d !== tb.dims[i])) {
      return { equal: false, reason: `${name}: dims [${ta.dims.join(', ')}] vs [${tb.dims.join(', ')}]` }
    }
    const reason = compareTensor(rule, name, ta, tb)
    if (reason !== undefined) return { equal: false, reason }
  }
  return { equal: true }
}

/** Why two same-shaped tensors disagree under `rule`, or undefined if they agree. */
function compareTensor (rule: CompareRule, name: string, a: TensorData, b: TensorData): string | undefined {
  switch (rule.kind) {
    case 'exact':
      return bytesEqual(a.data, b.data) ? undefined : `${name}: bytes differ`
    case 'argmax':
      return FLOAT.has(a.dtype) ? compareArgmax(name, a, b) : compareValues(name, a, b)
    case 'allclose':
      return FLOAT.has(a.dtype) ? compareClose(name, a, b, rule.atol, rule.rtol) : compareValues(name, a, b)
  }
}

/** Row length for argmax: the last axis (a scalar is one row of one). */
function rowLength (t: TensorData): number {
  return t.dims.length === 0 ? 1 : t.dims[t.dims.length - 1]!
}

/** Index of the largest value in `v[start, start + n)`, first on ties; -1 if the row holds NaN or is empty. */
export function argmaxRow (v: ArrayLike<number>, start: number, n: number): number {
  let best = -1
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    const x = v[start + i]!
    if (Number.isNaN(x)) return -1
    if (best === -1 || x > max) { best = i; max = x }
  }
  return best
}

function compareArgmax (name: string, a: TensorData, b: TensorData): string | undefined {
  const n = rowLength(a)
  if (n === 0) return undefined
  const va = tensorValues(a)
  const vb = tensorValues(b)
  for (let row = 0; row * n < va.length; row++) {
    const ia = argmaxRow(va, row * n, n)
    const ib = argmaxRow(vb, row * n, n)
    if (ia === -1 || ib === -1) return `${name}: row ${row} holds NaN`
    if (ia !== ib) return `${name}: row ${row} argmax ${ia} vs ${ib}`
  }
  return undefined
}

function compareValues (name: string, a: TensorData, b: TensorData): string | undefined {
  const va = tensorValues(a)
  const vb = tensorValues(b)
  for (let i = 0; i < va.length; i++) {
    if (va[i] !== vb[i]) return `${name}[${i}]: ${va[i]} vs ${vb[i]}`
  }
  return undefined
}

function compareClose (name: string, a: TensorData, b: TensorData, atol: number, rtol: number): string | undefined {
  const va = tensorValues(a)
  const vb = tensorValues(b)
  for (let i = 0; i < va.length; i++) {
    const x = va[i]!
    const y = vb[i]!
    if (Number.isNaN(x) || Number.isNaN(y)) return `${name}[${i}]: NaN`
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (x !== y) return `${name}[${i}]: ${x} vs ${y}`
      continue
    }
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `${name}[${i}]: |${x} − ${y}| > ${atol} + ${rtol}·|${y}|`
  }
  return undefined
}
