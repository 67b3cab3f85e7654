/**
 * Replay protection with bounded memory. Each signer numbers its messages of
 * a kind with `seq`; a window remembers, per (kind, signer), the highest seq
 * seen and, if `window > 0`, which of the `window` seqs below it were seen, so
 * gossip that arrives slightly out of order is still accepted once
 * (the IPsec anti-replay window, RFC 4303 §3.4.3). With the default window 0,
 * seqs must strictly increase.
 *
 * Memory is bounded by `maxSigners` entries, least recently used evicted
 * first. An evicted signer's old messages could be replayed once more, which
 * is why `open()` pairs the window with a maximum age: the two together bound
 * what an attacker can replay.
 */
import { toHex } from './bytes.ts'

/** What the window needs from an envelope. */
export interface Sequenced {
  kind: string
  signer: Uint8Array
  seq: number
}

export interface ReplayWindowInit {
  /** (kind, signer) pairs remembered; least recently used forgotten first. Default 10 000. */
  maxSigners?: number
  /** How many seqs below the highest are still accepted once (0..1024). Default 0: strictly increasing. */
  window?: number
}

interface Entry {
  highest: number
  /** Seqs in (highest − window, highest) already seen; only used when window > 0. */
  seen?: Set<number>
}

export const DEFAULT_REPLAY_SIGNERS = 10_000
const MAX_WINDOW = 1024

/** Bounded per-signer replay window. Not thread-safe; one per validator. */
export class ReplayWindow {
  private readonly entries = new Map<string, Entry>()
  private readonly maxSigners: number
  private readonly window: number

  /**
   * @throws {RangeError} if `maxSigners` < 1 or `window` is outside 0..1024.
   */
  constructor (init: ReplayWindowInit = {}) {
    this.maxSigners = init.maxSigners ?? DEFAULT_REPLAY_SIGNERS
    this.window = init.window ?? 0
    if (!Number.isSafeInteger(this.maxSigners) || this.maxSigners < 1) throw new RangeError('maxSigners must be a positive integer')
    if (!Number.isSafeInteger(this.window) || this.window < 0 || this.window > MAX_WINDOW) throw new RangeError(`window must be 0..${MAX_WINDOW}`)
  }

  /** (kind, signer) pairs currently remembered. */
  get size (): number {
    return this.entries.size
  }

  /**
   * True, and remembered, if `msg` was not seen before; false if it is a
   * replay or too old for the window. Call only after the signature verified,
   * or forged messages could burn a signer's seqs.
   */
  check (msg: Sequenced): boolean {
    const key = `${msg.kind}\u0000${toHex(msg.signer)}`
    const entry = this.entries.get(key)
    if (entry === undefined) {
      this.remember(key, { highest: msg.seq })
      return true
    }
    if (msg.seq > entry.highest) {
      if (this.window > 0) {
        const seen = entry.seen ?? new Set<number>()
        seen.add(entry.highest)
        for (const s of seen) if (s <= msg.seq - this.window) seen.delete(s)
        entry.seen = seen
      }
      entry.highest = msg.seq
      this.remember(key, entry)
      return true
    }
    if (msg.seq === entry.highest || msg.seq <= entry.highest - this.window || this.window === 0) return false
    const seen = entry.seen ?? new Set<number>()
    if (seen.has(msg.seq)) return false
    seen.add(msg.seq)
    entry.seen = seen
    this.remember(key, entry)
    return true
  }

  /** Move to most-recent position; evict the least recent beyond the bound. */
  private remember (key: string, entry: Entry): void {
    this.entries.delete(key)
    this.entries.set(key, entry)
    if (this.entries.size > this.maxSigners) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }
}
