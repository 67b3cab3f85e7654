/**
 * Protocol constants of the trust core in one place: version, domain tags,
 * message kinds and the hard byte cap of each kind. A cap is checked before
 * any parsing and again before signing, so neither side can produce or accept
 * a message larger than its budget.
 */

/** Envelope format version (`v`); anything else is refused. */
export const ENVELOPE_VERSION = 1

/** Signed bytes are `DOMAIN_PREFIX + kind` (UTF-8) followed by the canonical bytes (DESIGN.md "Security rules"). */
export const DOMAIN_PREFIX = 'essaim/v1/'

/** Every message kind of the protocol (DESIGN.md "Data flow of one job"). Names are prefix-free. */
export const KINDS = ['presence', 'job', 'attestation', 'verdict', 'tree-head', 'receipt'] as const

/** One of {@link KINDS}. */
export type Kind = typeof KINDS[number]

/** Per-kind limits on collection sizes inside bodies. */
export const LIMITS = {
  /** Models a presence heartbeat may list. */
  presenceModels: 64,
  /** Shards in one job manifest. */
  jobShards: 4096,
  /** Peers credited or rejected by one verdict (each list). */
  verdictPeers: 32,
  /** Hashes in an inclusion proof: a log of 2^64 leaves needs at most 64. */
  proofHashes: 64,
  /** Largest replica count a job may ask for. */
  replicas: 16
} as const

/**
 * Hard byte cap of a whole envelope (signature and all) per kind. Sized from
 * the largest valid body with headroom; see schemas.ts for what fills them.
 */
export const BYTE_CAPS: Readonly<Record<Kind, number>> = {
  // 64 model hashes of 66 bytes each need ~4.3 KiB; a typical heartbeat is ~300 bytes.
  presence: 5 * 1024,
  job: 256 * 1024,
  attestation: 1024,
  verdict: 4096,
  // A head with a 64-hash consistency proof to its predecessor is ~2.4 KiB; without one ~190 bytes.
  'tree-head': 3 * 1024,
  // Verdict (4 KiB) + head (3 KiB) + 64-hash inclusion proof (~2.2 KiB) + envelope: under 10 KiB.
  receipt: 16 * 1024
}

/** The largest cap: input longer than this is refused before even looking at its kind. */
export const MAX_ENVELOPE_BYTES = Math.max(...Object.values(BYTE_CAPS))

/**
 * Memory bounds of the credit ledger (ledger.ts). A receipt held costs ~2 KiB
 * (its verdict bytes and inclusion proof, ~0.75 KiB, and the keys and
 * indices it is found by; measured in Node with 8,000 receipts of a
 * 13-level log), so one requester costs at most ~32 MiB and the whole
 * ledger ~128 MiB, plus the heads (~1 – 2 KiB each). Anyone can make
 * requester keys and gossip receipts they signed: the per-requester bounds
 * alone would let such keys fill a tab's memory. Beyond a bound, new input
 * of that requester is refused and counted as dropped (a volunteer still
 * keeps a valid receipt that credits it); the derivation is
 * order-independent only while no bound is reached.
 */
export const LEDGER_LIMITS = {
  /** Distinct requesters tracked. */
  requesters: 4096,
  /** Distinct signed tree heads kept per requester. */
  headsPerRequester: 4096,
  /** Distinct signed tree heads kept in all. */
  heads: 16_384,
  /** Distinct (leaf index, verdict) claims kept per requester. */
  receiptsPerRequester: 16_384,
  /** Distinct (leaf index, verdict) claims kept in all. */
  receipts: 65_536,
  /** Fork evidence kept (and shown) per requester; the fork point uses all of it. */
  forksPerRequester: 8
} as const

/** Bounds on a receipt file or bundle (receipt-bundle.ts), checked before parsing. */
export const BUNDLE_LIMITS = {
  /** Characters of JSON text: 100 000 receipts of ~1.5 KiB in base64. */
  chars: 256 * 1024 * 1024,
  receipts: 100_000,
  heads: 100_000
} as const
