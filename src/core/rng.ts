/**
 * A small seeded PRNG (SplitMix32 seeding a xoshiro128** state, Blackman &
 * Vigna, "Scrambled linear pseudorandom number generators", 2021) so the
 * scheduler's random choices (canary mixing, adaptive replication) are
 * reproducible from a seed in tests and simulations. Not for secrets.
 */

/** Deterministic random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next: () => number
  /** Uniform integer in [0, n). */
  int: (n: number) => number
}

/** xoshiro128** seeded from `seed` (any 32-bit integer) through SplitMix32. */
export function seededRng (seed: number): Rng {
  let x = seed >>> 0
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) >>> 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  if ((a | b | c | d) === 0) a = 1
  const u32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a; d ^= b; b ^= c; a ^= d
    c ^= t
    d = rotl(d, 11)
    return result
  }
  const next = (): number => u32() / 4294967296
  return { next, int: n => Math.floor(next() * n) }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
