/**
 * A dozen lines of combinators for strict, hand-written schemas (no schema
 * framework: core has one dependency per job). A `Check<T>` returns a message
 * naming the offending path, or undefined when the value is a valid `T`.
 *
 * Strict means: records are plain objects with exactly the declared keys
 * (unknown and missing fields are both errors), numbers are finite and in
 * range, integers are safe integers, strings and lists have maximum lengths,
 * byte strings have exact lengths. `record()` is typed against the interface
 * it validates, so a field added to the interface without a check does not compile.
 */

/** Validates an unknown value as a `T`; returns a reason, or undefined if valid. */
export interface Check<T> {
  (value: unknown, path: string): string | undefined
  /** Phantom: the type this check admits. Never set. */
  readonly __type?: T
}

function check<T> (fn: (value: unknown, path: string) => string | undefined): Check<T> {
  return fn as Check<T>
}

/** A string of `min..max` UTF-16 units matching `pattern` if given. */
export function str (options: { max: number, min?: number, pattern?: RegExp, what?: string }): Check<string> {
  const min = options.min ?? 0
  return check((v, path) => {
    if (typeof v !== 'string') return `${path}: expected a string`
    if (v.length < min || v.length > options.max) return `${path}: length ${v.length} outside ${min}..${options.max}`
    if (options.pattern !== undefined && !options.pattern.test(v)) return `${path}: not ${options.what ?? `matching ${String(options.pattern)}`}`
    return undefined
  })
}

/** One of the listed string literals. */
export function oneOf<const L extends readonly string[]> (...values: L): Check<L[number]> {
  return check((v, path) => typeof v === 'string' && values.includes(v) ? undefined : `${path}: expected one of ${values.join(', ')}`)
}

/** `true` or `false`. */
export function bool (): Check<boolean> {
  return check((v, path) => typeof v === 'boolean' ? undefined : `${path}: expected true or false`)
}

/** A safe integer in `min..max`. */
export function int (min: number, max: number): Check<number> {
  return check((v, path) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${path}: expected an integer`
    return v < min || v > max ? `${path}: ${v} outside ${min}..${max}` : undefined
  })
}

/** A finite number in `min..max`. */
export function num (min: number, max: number): Check<number> {
  return check((v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${path}: expected a finite number`
    return v < min || v > max ? `${path}: ${v} outside ${min}..${max}` : undefined
  })
}

/** A Uint8Array of exactly `length` bytes, or of `0..max` bytes with `{ max }`. */
export function bytes (size: number | { max: number }): Check<Uint8Array> {
  return check((v, path) => {
    if (!(v instanceof Uint8Array)) return `${path}: expected bytes`
    if (typeof size === 'number') return v.length === size ? undefined : `${path}: expected ${size} bytes, got ${v.length}`
    return v.length <= size.max ? undefined : `${path}: ${v.length} bytes exceeds ${size.max}`
  })
}

/** An array of at most `max` items, each valid. */
export function list<T> (item: Check<T>, max: number): Check<T[]> {
  return check((v, path) => {
    if (!Array.isArray(v)) return `${path}: expected a list`
    if (v.length > max) return `${path}: ${v.length} items exceeds ${max}`
    for (let i = 0; i < v.length; i++) {
      const bad = item(v[i], `${path}[${i}]`)
      if (bad !== undefined) return bad
    }
    return undefined
  })
}

/** True for `{}`-style objects (as cborg decodes maps): not arrays, bytes, class instances or null. */
export function isPlainObject (v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** A plain object with exactly these keys, each valid. */
export function record<T extends object> (fields: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  const names = Object.keys(fields) as Array<keyof T & string>
  return check((v, path) => {
    if (!isPlainObject(v)) return `${path}: expected a map`
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(fields, key)) return `${path}: unknown field ${JSON.stringify(key.slice(0, 40))}`
    }
    for (const key of names) {
      if (!Object.hasOwn(v, key)) return `${path}: missing field ${key}`
      const bad = fields[key](v[key], `${path}.${key}`)
      if (bad !== undefined) return bad
    }
    return undefined
  })
}

/** A tagged union on `tag`: the value's tag picks the record check. */
export function variant<T extends object, D extends string> (tag: D, cases: Record<string, Check<T>>): Check<T> {
  return check((v, path) => {
    if (!isPlainObject(v)) return `${path}: expected a map`
    const t = v[tag]
    if (typeof t !== 'string' || !Object.hasOwn(cases, t)) return `${path}.${tag}: expected one of ${Object.keys(cases).join(', ')}`
    return cases[t]!(v, path)
  })
}

/** `null` or a valid `T`: an explicit "none" (strict records have no optional fields, so absence is never ambiguous). */
export function nullable<T> (item: Check<T>): Check<T | null> {
  return check((v, path) => v === null ? undefined : item(v, path))
}

/** `base`, then a cross-field rule returning a reason or undefined. */
export function refine<T> (base: Check<T>, rule: (value: T, path: string) => string | undefined): Check<T> {
  return check((v, path) => base(v, path) ?? rule(v as T, path))
}
