/**
 * Every protocol id, gossip topic and network default in one place. Ids are
 * versioned: a breaking change gets a new id, never a silent reinterpretation.
 */
import { BYTE_CAPS } from '../core/constants.ts'

/** Gossip topics (DESIGN.md "Data flow of one job"). */
export const TOPIC_PRESENCE = 'essaim/presence/1'
export const TOPIC_JOBS = 'essaim/jobs/1'
export const TOPIC_ATTEST = 'essaim/attest/1'
export const TOPIC_LOG = 'essaim/log/1'

/** Stream protocols. */
export const PROTOCOL_WORK = '/essaim/work/1.0.0'
/** Most shards asked for, or results handed in, in one work exchange. */
export const WORK_MAX_BATCH = 8
/**
 * Most shards one volunteer holds at once (queued, computing, and asked for
 * in exchanges still out): enough to keep its worker busy over a pull round
 * trip when shards are small (two groups in the worker and several pulls in
 * flight, src/swarm/pull-pace.ts); a requester leases no more to one peer (a
 * vanished peer takes no more away).
 */
export const WORK_MAX_HELD = 6 * WORK_MAX_BATCH
/** Largest output of one shard (`encodeTensors` bytes). */
export const WORK_MAX_OUTPUT_BYTES = 16 * 1024 * 1024
/** Largest pull request frame: the volunteer hands in results over several pulls rather than exceed it. */
export const WORK_MAX_REQUEST_BYTES = 2 * WORK_MAX_OUTPUT_BYTES + 64 * 1024
/** Largest request frame on a peer's further concurrent work streams while one reads a large frame (no results fit: a flood). */
export const WORK_SMALL_REQUEST_BYTES = 64 * 1024
/** Largest pull reply frame; the requester stops adding assignments well before it. */
export const WORK_MAX_REPLY_BYTES = 64 * 1024 * 1024 + 64 * 1024
/** The requester fills a reply with inputs up to about this many bytes (at least one assignment). */
export const WORK_REPLY_TARGET_BYTES = 8 * 1024 * 1024
/** Concurrent work streams one peer may have open to us. */
export const WORK_MAX_STREAMS_PER_PEER = 4
/** Deadline of one work exchange. */
export const WORK_TIMEOUT_MS = 30_000
/** A requester closes a volunteer's work stream silent this long between pulls. */
export const WORK_STREAM_IDLE_MS = 60_000
/** A volunteer closes a work stream it has not used for this long: well before the requester would. */
export const WORK_STREAM_KEEP_MS = 10_000

/** After a connection closes, gossipsub's streams to that peer are checked this long later (src/net/gossip-streams.ts). */
export const GOSSIP_HEAL_AFTER_CLOSE_MS = 100
/** And every connected peer's, this often. */
export const GOSSIP_HEAL_SWEEP_MS = 5_000
/** A connection that does not open a ping stream within this is taken for dead, and not given gossip streams. */
export const GOSSIP_HEAL_PROBE_MS = 3_000

/** How often a peer announces itself on the presence topic, in a small swarm (src/net/pace.ts). */
export const PRESENCE_INTERVAL_MS = 2_000
/**
 * Messages of one kind that every peer repeats and every peer receives (a
 * heartbeat, an address broadcast): about this many a second for the whole
 * swarm once it is larger than about twice this many peers. At a fixed
 * interval each peer's share of checking them would grow with the swarm
 * (300 peers, every 2 s: 150 a second). src/net/pace.ts `swarmInterval`.
 */
export const SWARM_REPEATS_PER_S = 25
/** The longest interval between two such messages of one peer, however large the swarm. */
export const SWARM_MAX_INTERVAL_MS = 30_000
/** A peer whose last heartbeat is older than this many of its intervals is dropped from the list. */
export const PRESENCE_MISSED_BEATS = 3
/** Heartbeats older than this (by their signed timestamp) are stale and rejected. */
export const PRESENCE_MAX_AGE_MS = 30_000
/** Heartbeats dated further in the future than this are rejected (clock skew allowance). */
export const PRESENCE_MAX_FUTURE_MS = 30_000

/** How often pubsub peer-discovery re-broadcasts our addresses through the relay, in a small swarm (src/net/pace.ts). */
export const DISCOVERY_INTERVAL_MS = 2_000

/** Relay reconnection backoff: first retry, cap, and jitter fraction. */
export const RELAY_BACKOFF_MIN_MS = 1_000
export const RELAY_BACKOFF_MAX_MS = 30_000
export const BACKOFF_JITTER = 0.3

/** Direct WebRTC dials: attempts and the base delay between them (with jitter). */
export const DIRECT_DIAL_ATTEMPTS = 5
export const DIRECT_DIAL_RETRY_MS = 1_000
export const DIRECT_DIAL_TIMEOUT_MS = 15_000
/** Delay before dialling again a peer whose direct connection closed (ours to dial, and not reached another way). */
export const DIRECT_REDIAL_DELAY_MS = 1_000
/** Delay before closing a peer's relayed connections once a direct one is open (lets signalling finish on both sides). */
export const RELAYED_CLOSE_DELAY_MS = 2_000

/** Where the served build keeps its network config (written by `npm start`). */
export const CONFIG_PATH = 'essaim.config.json'

/**
 * Content-addressed blobs (model bytes) over `/essaim/blob/1.0.0`: a request
 * names a sha256, the answer is a header then length-prefixed chunks.
 */
export const PROTOCOL_BLOB = '/essaim/blob/1.0.0'
/** Largest blob served or fetched; no model in the catalog comes close. */
export const BLOB_MAX_BYTES = 256 * 1024 * 1024
/** Bytes per data frame: small enough to interleave with other streams, large enough to keep framing cheap. */
export const BLOB_CHUNK_BYTES = 64 * 1024
/** Blobs served at once to one peer, and to everybody; beyond that the answer is "busy". */
export const BLOB_MAX_SERVES_PER_PEER = 2
export const BLOB_MAX_SERVES_TOTAL = 8
/** How long a server waits for the request after the stream opens. */
export const BLOB_REQUEST_TIMEOUT_MS = 10_000
/** A whole transfer, either side, when the caller gave no signal (256 MiB at ~1 MB/s fits). */
export const BLOB_TRANSFER_TIMEOUT_MS = 5 * 60_000
/** A stream that moves no bytes for this long is aborted. */
export const BLOB_IDLE_TIMEOUT_MS = 30_000

/** How often a requester re-announces its open jobs (late joiners learn them this way). */
export const JOB_ANNOUNCE_MS = 5_000
/** A peer subscribed to the jobs topic: announce this soon (joins arriving together share one announcement). */
export const ANNOUNCE_ON_JOIN_MS = 250
/** Oldest job manifest a peer accepts on the jobs topic. */
export const JOB_MAX_AGE_MS = 7 * 24 * 3600_000
/** Oldest attestation or receipt accepted on gossip. */
export const LOG_MAX_AGE_MS = 24 * 3600_000
/** Clock skew tolerated on gossip envelopes. */
export const GOSSIP_MAX_FUTURE_MS = 60_000
/** How long a requester gathers verdicts before signing one tree head over them. */
export const HEAD_BATCH_MS = 250
/** Wait before asking again when a requester has nothing to hand out. */
export const WORK_IDLE_WAIT_MS = 1_000

/**
 * Catch-up on a requester's log over `/essaim/log/1.0.0`: a peer that saw a
 * signed tree head of size N while holding fewer of that requester's
 * verdicts asks the requester for receipts of the leaf indices it lacks.
 */
export const PROTOCOL_LOG = '/essaim/log/1.0.0'
/** Leaf indices asked for (and receipts returned) in one exchange. */
export const LOG_MAX_PAGE = 64
/** Largest request frame: a page of indices in canonical CBOR is under 1 KiB. */
export const LOG_MAX_REQUEST_BYTES = 4 * 1024
/** Largest reply frame: a full page of receipts at their byte cap, plus framing. */
export const LOG_MAX_REPLY_BYTES = LOG_MAX_PAGE * BYTE_CAPS.receipt + 4 * 1024
/** Deadline of one exchange, either side. */
export const LOG_TIMEOUT_MS = 15_000
/** Concurrent log streams one connection may open to us. */
export const LOG_MAX_STREAMS_PER_PEER = 2
/** Pages served at once to everybody; beyond that the answer is "busy". */
export const LOG_MAX_SERVES_TOTAL = 4
/** Pages one peer may ask for in a burst, and how often it earns another (each page costs the server up to 64 signatures). */
export const LOG_SERVE_BURST = 16
export const LOG_SERVE_REFILL_MS = 1_000
/** Peers the server keeps a page budget for; beyond it the oldest is forgotten. */
export const LOG_MAX_TRACKED_PEERS = 1_024
/** An observer that learns it is behind waits this long first (receipts of one head arrive as a burst). */
export const LOG_CATCH_UP_DELAY_MS = 1_500
/** Retry after a failed catch-up, doubling up to the cap, at most this many times per head size. */
export const LOG_CATCH_UP_RETRY_MS = 3_000
export const LOG_CATCH_UP_RETRY_MAX_MS = 60_000
export const LOG_CATCH_UP_ATTEMPTS = 6
/**
 * Once its log stops growing, a requester announces the unchanged head this
 * many more times, this far apart: past LOG_CATCH_UP_RETRY_MAX_MS, so an
 * observer that gave up catching up on it tries again.
 */
export const HEAD_REPEATS = 3
export const HEAD_REPEAT_MS = LOG_CATCH_UP_RETRY_MAX_MS + 5_000
/** Pages fetched in one catch-up round before yielding to other requesters. */
export const LOG_CATCH_UP_PAGES = 64
/**
 * A peer whose ledger is full for a requester asks it for the receipts
 * crediting itself instead (it cannot tell which it lacks), at most this
 * often while that requester's log grows: each round fetches again the
 * ones gossip brought since the last. The last repeat of a finished log's
 * head (HEAD_REPEAT_MS apart) comes after it, so nothing is left out.
 */
export const LOG_OWN_CATCH_UP_MS = LOG_CATCH_UP_RETRY_MAX_MS
