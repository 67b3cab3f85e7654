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
  'tree-head': 512,
  receipt: 16 * 1024
}

/** The largest cap: input longer than this is refused before even looking at its kind. */
export const MAX_ENVELOPE_BYTES = Math.max(...Object.values(BYTE_CAPS))
