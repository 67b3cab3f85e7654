/**
 * The body of every message kind (DESIGN.md "Data flow of one job"), as
 * TypeScript types and strict runtime checks. `open()` runs the check of the
 * envelope's kind before anything else sees the body, and `seal()` refuses to
 * sign a body that would not pass, so a valid envelope is the only kind of
 * envelope there is.
 *
 * Conventions: model hashes are lowercase hex strings (as in
 * `models/catalog.json` and presence heartbeats); every other hash (job id,
 * input/output hashes, Merkle roots) and every peer (an Ed25519 public key)
 * is raw bytes, 32 long. Times are integer ms since the Unix epoch. Byte caps
 * per kind live in constants.ts.
 */
import { toHex } from './bytes.ts'
import { BYTE_CAPS, LIMITS, type Kind } from './constants.ts'
import { bytes, int, isPlainObject, list, nullable, num, oneOf, record, refine, str, variant, type Check } from './validate.ts'

/** Where a volunteer runs inference. */
export type Provider = 'webgpu' | 'wasm'

/** `essaim/presence/1` heartbeat: who I am and what I can run. */
export interface PresenceBody {
  /** libp2p peer id (base58btc) of the signer; the net layer checks it matches the gossip sender. */
  peerId: string
  provider: Provider
  threads: number
  /** sha256 (hex) of the models this peer has cached. */
  models: string[]
  /** App version string, e.g. `essaim/0.1.0`. */
  app: string
}

/** How replica outputs are compared (DESIGN.md "Determinism"). */
export type CompareRule =
  | { kind: 'exact' }
  | { kind: 'argmax' }
  /** |a − b| ≤ atol + rtol·|b| elementwise. */
  | { kind: 'allclose', atol: number, rtol: number }

/** The requester's verification policy for a job. */
export interface JobPolicy {
  /** Replicas scheduled per shard at first (1..16). */
  replicas: number
  /** Agreeing replicas needed to accept a shard output (1..replicas). */
  quorum: number
  compare: CompareRule
  /** Fraction of assignments that are canaries (shards with known answers), 0..1. */
  canaryRate: number
  /** ms since epoch after which the requester stops accepting results. */
  deadline: number
}

/** One shard of a job: its input's sha256 and size, so a volunteer can check and cap what it receives. */
export interface ShardRef {
  inputHash: Uint8Array
  bytes: number
}

/** The model a job runs, by id and sha256. */
export interface ModelRef {
  id: string
  sha256: string
  /**
   * Size in bytes, declared for a model outside the catalog (a requester's
   * own .onnx): a volunteer refuses one over its cap before fetching any of
   * it, and checks the bytes it gets are exactly this long. Absent for
   * catalog models (the catalog gives their size) and in manifests signed
   * before it was declared.
   */
  bytes?: number
}

/** `essaim/jobs/1` manifest. Its job id is the envelope id (sha256 of the signed canonical bytes). */
export interface JobBody {
  model: ModelRef
  shards: ShardRef[]
  policy: JobPolicy
}

/** Bytes of a job's largest shard input (at least 1): how many shards fit in one pull is sized by it. */
export function largestShardBytes (job: Pick<JobBody, 'shards'>): number {
  return job.shards.reduce((most, sh) => Math.max(most, sh.bytes), 1)
}

/** `essaim/attest/1`: a volunteer's signed claim about one output it computed. */
export interface AttestationBody {
  jobId: Uint8Array
  shard: number
  inputHash: Uint8Array
  outputHash: Uint8Array
  provider: Provider
  ortVersion: string
  threads: number
  /** Inference time in ms. */
  ms: number
}

/** The requester's decision on one shard; a leaf of its transparency log. */
export interface VerdictBody {
  jobId: Uint8Array
  shard: number
  /** The accepted output's sha256. */
  outputHash: Uint8Array
  /** Public keys credited for this shard (no duplicates). */
  credited: Uint8Array[]
  /** Public keys whose output was rejected (no duplicates, disjoint from credited). */
  rejected: Uint8Array[]
}

/** The head a requester announced before this one, and the RFC 9162 §2.1.4 proof that this one extends it. */
export interface PrevHead {
  size: number
  root: Uint8Array
  /** Consistency proof from (prev.size, prev.root) to the enclosing head's (size, root). */
  consistency: Uint8Array[]
}

/**
 * A signed tree head (RFC 9162 §4.10 in spirit): the requester's log has
 * `size` leaves with this root. The log is the signer's. `prev` links each
 * head to the previous one the requester announced (null for its first), so
 * an observer holding any two heads of a chain can check the log only grew;
 * see tree-head.ts.
 */
export interface TreeHeadBody {
  size: number
  root: Uint8Array
  prev: PrevHead | null
}

/** Proof that a verdict is in its requester's log: the verdict envelope, its leaf index, the inclusion path, the tree head envelope. */
export interface ReceiptBody {
  verdict: Uint8Array
  index: number
  proof: Uint8Array[]
  head: Uint8Array
}

/** The body type of each kind. */
export interface Bodies {
  presence: PresenceBody
  job: JobBody
  attestation: AttestationBody
  verdict: VerdictBody
  'tree-head': TreeHeadBody
  receipt: ReceiptBody
}

/** The body type for kind `K`. */
export type BodyOf<K extends Kind> = Bodies[K]

/** Largest input a shard may declare: a volunteer never allocates more for one input. */
export const MAX_SHARD_BYTES = 64 * 1024 * 1024
/**
 * Largest model size a manifest may declare: 4 GiB, more than a browser tab
 * can hold (wasm32 memory). Volunteers cap much lower (foreign-model.ts) and
 * say why they refuse a job; the schema only rejects sizes no model has.
 */
export const MAX_MODEL_BYTES = 2 ** 32
const MAX_TIME = Number.MAX_SAFE_INTEGER

const HEX64 = /^[0-9a-f]{64}$/
/** base58btc alphabet (no 0, O, I, l). */
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/
/** Printable ASCII without spaces: ids and versions, not prose. */
const TOKEN = /^[\x21-\x7e]+$/
/** Printable ASCII including space. */
const PRINTABLE = /^[\x20-\x7e]*$/

const hash32 = bytes(32)
const provider = oneOf('webgpu', 'wasm')
const threads = int(1, 256)
const shardIndex = int(0, LIMITS.jobShards - 1)

function distinctKeys (lists: Array<[string, Uint8Array[]]>): string | undefined {
  const seen = new Set<string>()
  for (const [name, items] of lists) {
    for (const item of items) {
      const k = toHex(item)
      if (seen.has(k)) return `${name}: peer listed twice`
      seen.add(k)
    }
  }
  return undefined
}

const presence = record<PresenceBody>({
  peerId: str({ min: 1, max: 64, pattern: BASE58, what: 'a base58btc peer id' }),
  provider,
  threads,
  models: list(str({ min: 64, max: 64, pattern: HEX64, what: 'lowercase sha256 hex' }), LIMITS.presenceModels),
  app: str({ min: 1, max: 32, pattern: PRINTABLE, what: 'printable ASCII' })
})

const compare = variant<CompareRule, 'kind'>('kind', {
  exact: record<{ kind: 'exact' }>({ kind: oneOf('exact') }),
  argmax: record<{ kind: 'argmax' }>({ kind: oneOf('argmax') }),
  allclose: record<{ kind: 'allclose', atol: number, rtol: number }>({ kind: oneOf('allclose'), atol: num(0, 1e6), rtol: num(0, 1e6) })
})

const policy = refine(
  record<JobPolicy>({
    replicas: int(1, LIMITS.replicas),
    quorum: int(1, LIMITS.replicas),
    compare,
    canaryRate: num(0, 1),
    deadline: int(0, MAX_TIME)
  }),
  (p, path) => p.quorum > p.replicas ? `${path}.quorum: ${p.quorum} exceeds replicas ${p.replicas}` : undefined
)

const modelId = str({ min: 1, max: 64, pattern: TOKEN, what: 'printable ASCII without spaces' })
const modelHash = str({ min: 64, max: 64, pattern: HEX64, what: 'lowercase sha256 hex' })
const catalogModel = record<{ id: string, sha256: string }>({ id: modelId, sha256: modelHash })
const sizedModel = record<Required<ModelRef>>({ id: modelId, sha256: modelHash, bytes: int(1, MAX_MODEL_BYTES) })
/**
 * Exactly `{ id, sha256 }` or exactly `{ id, sha256, bytes }`: two strict
 * shapes rather than an optional field, so manifests signed before `bytes`
 * existed still open (same bytes, same job id) and nothing else gets in.
 */
const model: Check<ModelRef> = (v, path) => isPlainObject(v) && Object.hasOwn(v, 'bytes') ? sizedModel(v, path) : catalogModel(v, path)

const job = record<JobBody>({
  model,
  shards: refine(list(record<ShardRef>({ inputHash: hash32, bytes: int(0, MAX_SHARD_BYTES) }), LIMITS.jobShards),
    (s, path) => s.length === 0 ? `${path}: a job has at least one shard` : undefined),
  policy
})

const attestation = record<AttestationBody>({
  jobId: hash32,
  shard: shardIndex,
  inputHash: hash32,
  outputHash: hash32,
  provider,
  ortVersion: str({ min: 1, max: 32, pattern: TOKEN, what: 'printable ASCII without spaces' }),
  threads,
  ms: num(0, 1e9)
})

const verdict = refine(
  record<VerdictBody>({
    jobId: hash32,
    shard: shardIndex,
    outputHash: hash32,
    credited: list(hash32, LIMITS.verdictPeers),
    rejected: list(hash32, LIMITS.verdictPeers)
  }),
  (v, path) => distinctKeys([[`${path}.credited`, v.credited], [`${path}.rejected`, v.rejected]])
)

const treeHead = refine(
  record<TreeHeadBody>({
    size: int(0, MAX_TIME),
    root: hash32,
    prev: nullable(record<PrevHead>({
      size: int(0, MAX_TIME),
      root: hash32,
      consistency: list(hash32, LIMITS.proofHashes)
    }))
  }),
  (h, path) => h.prev !== null && h.prev.size > h.size ? `${path}.prev.size: ${h.prev.size} exceeds size ${h.size} (a log only grows)` : undefined
)

/** Envelope byte caps of the nested kinds bound the nested byte strings (see constants.ts). */
const receipt = record<ReceiptBody>({
  verdict: bytes({ max: BYTE_CAPS.verdict }),
  index: int(0, MAX_TIME - 1),
  proof: list(hash32, LIMITS.proofHashes),
  head: bytes({ max: BYTE_CAPS['tree-head'] })
})

/** The strict check for each kind's body. */
export const BODY_SCHEMAS: { readonly [K in Kind]: Check<Bodies[K]> } = {
  presence,
  job,
  attestation,
  verdict,
  'tree-head': treeHead,
  receipt
}

/** Why `body` is not a valid body of `kind`, or undefined if it is. Never throws. */
export function checkBody (kind: Kind, body: unknown): string | undefined {
  return BODY_SCHEMAS[kind](body, 'body')
}
