/**
 * Observers catch up on receipts they missed (DESIGN.md "Data flow of one
 * job", step 7). Each signed tree head seen on the log topic (alone, or
 * inside a receipt) says how large its requester's log is; when the ledger
 * holds fewer of that requester's verdicts, this asks the requester over
 * `/essaim/log/1.0.0` for the missing leaf indices, a page at a time, and
 * feeds what verifies to the same intake gossiped receipts go through.
 *
 * Why it waits before asking: the receipts of one head are published as a
 * burst, so the first of them shows a head larger than what is held while
 * the rest are still in flight. Why it gives up after a few attempts: a
 * requester that announces heads it will not serve must not keep us busy; a
 * larger head from it starts over, and so does the same head heard again
 * once `retryMaxMs` has passed. Retries back off with jitter: when a job
 * ends, every volunteer asks at once and a requester serves only a few at a
 * time ("busy"); retrying in step, they would collide again. A larger head
 * ends a backoff at once (the requester is there and its log grew): a
 * volunteer that failed a few times mid-job would otherwise wait up to
 * `retryMaxMs` for receipts it could fetch now. State is bounded: at most
 * `maxRequesters` requesters are tracked (and as many given up on), and one
 * exchange runs at a time.
 *
 * When the ledger is full for a requester (Ledger.full: it keeps no more of
 * its receipts), it cannot say which leaves it lacks; this then asks that
 * requester for the receipts crediting this peer (`fetchCredited`), from the
 * first leaf not yet asked about, at most every `ownIntervalMs` while its
 * log grows: a volunteer keeps every receipt crediting it, and one that
 * missed the gossip of some would otherwise never get them. How far it got
 * with each requester is kept across sessions (`ownFrom`, `onOwnFrom`), so a
 * reload does not have a busy requester sign them all again.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger, PeerId } from '@libp2p/interface'
import { fromHex } from '../core/bytes.ts'
import type { Ledger } from '../core/ledger.ts'
import type { CaughtUpReceipt } from '../net/protocols/log.ts'
import { peerIdOf } from '../net/peer-keys.ts'
import { backoffDelay } from '../net/mesh.ts'
import {
  LOG_CATCH_UP_ATTEMPTS, LOG_CATCH_UP_DELAY_MS, LOG_CATCH_UP_PAGES, LOG_CATCH_UP_RETRY_MAX_MS, LOG_CATCH_UP_RETRY_MS,
  LOG_MAX_PAGE, LOG_OWN_CATCH_UP_MS
} from '../net/constants.ts'

/** What catching up needs from the log protocol (`LogService.fetchReceipts`, which gives up after LOG_TIMEOUT_MS). */
export type FetchReceipts = (peer: PeerId, indices: number[], options: { signal: AbortSignal }) => Promise<CaughtUpReceipt[]>

/** The receipts crediting this peer at leaf `from` or later, LOG_MAX_PAGE at most (`LogService.fetchCredited` with this peer's key). */
export type FetchCredited = (peer: PeerId, from: number, options: { signal: AbortSignal }) => Promise<CaughtUpReceipt[]>

export interface LogCatchUpInit {
  ledger: Ledger
  fetchReceipts: FetchReceipts
  /** Without it, nothing is caught up on from a requester the ledger is full for. */
  fetchCredited?: FetchCredited
  /** Per requester (public key hex), the leaf below which every receipt crediting this peer was asked for in an earlier session. */
  ownFrom?: { get: (requester: string) => number | undefined }
  /** Told when that leaf moves on (to keep it for the next session). */
  onOwnFrom?: (requester: string, from: number) => void
  /** Feeds one verified receipt to the peer's intake (ledger, and the volunteer's own receipts). */
  take: (bytes: Uint8Array) => Promise<void>
  /** This peer's public key (hex): its own log is never asked for. */
  self: string
  log: Logger
  delayMs?: number
  retryMs?: number
  retryMaxMs?: number
  attempts?: number
  pagesPerRound?: number
  maxRequesters?: number
  ownIntervalMs?: number
  now?: () => number
  random?: () => number
}

interface Behind {
  /** Largest head size seen from this requester. */
  size: number
  /** Failed rounds since that size was first seen. */
  failures: number
  timer?: ReturnType<typeof setTimeout>
  running: boolean
}

/** Catching up on the receipts crediting this peer from a requester the ledger is full for. */
interface Own {
  /** Every receipt crediting this peer below this leaf was asked for. */
  from: number
  /** When the last round started. */
  at: number
  running: boolean
}

export class LogCatchUp {
  private readonly behind = new Map<string, Behind>()
  /** Head size per requester at which we gave up, and when: only a larger head, or the same one heard after `retryMaxMs`, starts over. */
  private readonly gaveUp = new Map<string, { size: number, at: number }>()
  private readonly own = new Map<string, Own>()
  private readonly controller = new AbortController()
  /** One exchange at a time, whoever it is with. */
  private queue: Promise<void> = Promise.resolve()
  private readonly delayMs: number
  private readonly retryMs: number
  private readonly retryMaxMs: number
  private readonly attempts: number
  private readonly pagesPerRound: number
  private readonly maxRequesters: number
  private readonly ownIntervalMs: number
  private readonly now: () => number
  private readonly random: () => number

  constructor (private readonly init: LogCatchUpInit) {
    this.delayMs = init.delayMs ?? LOG_CATCH_UP_DELAY_MS
    this.retryMs = init.retryMs ?? LOG_CATCH_UP_RETRY_MS
    this.retryMaxMs = init.retryMaxMs ?? LOG_CATCH_UP_RETRY_MAX_MS
    this.attempts = init.attempts ?? LOG_CATCH_UP_ATTEMPTS
    this.pagesPerRound = init.pagesPerRound ?? LOG_CATCH_UP_PAGES
    this.maxRequesters = init.maxRequesters ?? 64
    this.ownIntervalMs = init.ownIntervalMs ?? LOG_OWN_CATCH_UP_MS
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
  }

  /** A signed head of `size` leaves from `requester` (public key, hex) was accepted. */
  seen (requester: string, size: number): void {
    if (this.controller.signal.aborted || requester === this.init.self) return
    if (this.init.ledger.full(requester)) { this.seenFull(requester, size); return }
    const gaveUp = this.gaveUp.get(requester)
    if (gaveUp !== undefined) {
      if (size <= gaveUp.size && this.now() - gaveUp.at < this.retryMaxMs) return
      this.gaveUp.delete(requester)
    }
    let entry = this.behind.get(requester)
    if (entry === undefined) {
      if (this.init.ledger.missingLeaves(requester, size, 1).length === 0) return
      if (this.behind.size >= this.maxRequesters) return // a later head tries again
      entry = { size, failures: 0, running: false }
      this.behind.set(requester, entry)
    } else if (size > entry.size) {
      entry.size = size
      if (entry.failures > 0 && entry.timer !== undefined) { clearTimeout(entry.timer); entry.timer = undefined }
      entry.failures = 0
    }
    if (entry.timer === undefined && !entry.running) this.schedule(requester, entry, this.delayMs)
  }

  /** {@link seen}, for a requester the ledger is full for. */
  private seenFull (requester: string, size: number): void {
    if (this.init.fetchCredited === undefined) return
    let own = this.own.get(requester)
    if (own === undefined) {
      if (this.own.size >= this.maxRequesters) return
      own = { from: this.init.ownFrom?.get(requester) ?? 0, at: -Infinity, running: false }
      this.own.set(requester, own)
    }
    if (own.running || size <= own.from || this.now() - own.at < this.ownIntervalMs) return
    own.running = true
    own.at = this.now()
    setTimeout(() => {
      this.queue = this.queue.then(async () => await this.ownRound(requester, own, size)).finally(() => { own.running = false })
    }, this.delayMs)
  }

  /** Fetches the receipts crediting this peer from `own.from` on, a page at a time, up to the end of the log. Never throws. */
  private async ownRound (requester: string, own: Own, size: number): Promise<void> {
    const signal = this.controller.signal
    const peer = peerOf(requester)
    if (peer === undefined) { this.own.delete(requester); return }
    const start = own.from
    try {
      for (let page = 0; page < this.pagesPerRound && !signal.aborted; page++) {
        let receipts: CaughtUpReceipt[]
        try {
          receipts = await this.init.fetchCredited!(peer, own.from, { signal })
          for (const r of receipts) await this.init.take(r.bytes)
        } catch (err) {
          // Asked again with a later head, once ownIntervalMs has passed.
          this.init.log('catching up on receipts crediting us from %s failed: %s', peer, (err as Error).message)
          return
        }
        const last = receipts.reduce((m, r) => Math.max(m, r.receipt.index), own.from - 1)
        if (receipts.length < LOG_MAX_PAGE) { own.from = Math.max(size, last + 1); return }
        own.from = last + 1
      }
      own.at = -Infinity // more to fetch: the next head goes on at once
    } finally {
      if (own.from !== start) this.init.onOwnFrom?.(requester, own.from)
    }
  }

  /** Requesters we are behind on, with the head size we are catching up to (UI, tests). */
  pending (): Array<{ requester: string, size: number }> {
    return [...this.behind.entries()].map(([requester, b]) => ({ requester, size: b.size }))
  }

  stop (): void {
    this.controller.abort(new Error('stopped'))
    for (const b of this.behind.values()) clearTimeout(b.timer)
    this.behind.clear()
    this.gaveUp.clear()
    this.own.clear()
  }

  private schedule (requester: string, entry: Behind, ms: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      entry.running = true
      this.queue = this.queue.then(async () => await this.round(requester, entry)).finally(() => { entry.running = false })
    }, ms)
  }

  /** Fetches pages until nothing below the head is missing, or a page brings nothing. Never throws. */
  private async round (requester: string, entry: Behind): Promise<void> {
    const signal = this.controller.signal
    if (signal.aborted) return
    const peer = peerOf(requester)
    if (peer === undefined) { this.behind.delete(requester); return }
    let problem: string | undefined
    for (let page = 0; page < this.pagesPerRound && !signal.aborted; page++) {
      const missing = this.init.ledger.missingLeaves(requester, entry.size, LOG_MAX_PAGE)
      if (missing.length === 0) { this.behind.delete(requester); return }
      try {
        const receipts = await this.init.fetchReceipts(peer, missing, { signal })
        for (const r of receipts) await this.init.take(r.bytes)
      } catch (err) {
        problem = `${(err as Error).name}: ${(err as Error).message}`
        break
      }
      const after = this.init.ledger.missingLeaves(requester, entry.size, LOG_MAX_PAGE)
      if (after.length === missing.length && after.every((i, k) => i === missing[k])) { problem = 'the requester sent none of the receipts asked for'; break }
      this.init.log('caught up on %d of %s\'s receipts', missing.length - after.filter(i => missing.includes(i)).length, peer)
    }
    if (signal.aborted) return
    if (this.init.ledger.missingLeaves(requester, entry.size, 1).length === 0) { this.behind.delete(requester); return }
    if (problem === undefined) { this.schedule(requester, entry, 0); return } // a long log: another round, after other requesters
    entry.failures++
    this.init.log('catching up on %s failed (%d/%d): %s', peer, entry.failures, this.attempts, problem)
    if (entry.failures >= this.attempts) {
      this.behind.delete(requester)
      if (this.gaveUp.size >= this.maxRequesters) this.gaveUp.delete(this.gaveUp.keys().next().value!)
      this.gaveUp.set(requester, { size: entry.size, at: this.now() })
      return
    }
    this.schedule(requester, entry, backoffDelay(entry.failures, this.retryMs, this.retryMaxMs, this.random))
  }
}

/** The peer id of a requester's public key (hex), or undefined if it is not one. */
function peerOf (requester: string): PeerId | undefined {
  try {
    return peerIdFromString(peerIdOf(fromHex(requester)))
  } catch {
    return undefined
  }
}

/** Requesters whose catching-up progress ({@link LogCatchUpInit.ownFrom}) is kept, at most; the oldest is forgotten. */
export const OWN_FROM_KEPT = 256

/** `ownFrom` as kept (a record of public key hex → leaf), its malformed entries left out: storage is read, not trusted. */
export function ownFromStored (stored: unknown): Map<string, number> {
  const out = new Map<string, number>()
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return out
  for (const [key, from] of Object.entries(stored)) {
    if (/^[0-9a-f]{64}$/.test(key) && Number.isSafeInteger(from) && (from as number) >= 0 && out.size < OWN_FROM_KEPT) out.set(key, from as number)
  }
  return out
}
