/**
 * Valid sample bodies for every kind, typical and as large as the schema
 * allows, shared by the envelope, fuzz and receipt tests.
 */
import { identityFromSeed, type Identity } from '../../../src/core/identity.ts'
import { LIMITS, type Kind } from '../../../src/core/constants.ts'
import { MAX_MODEL_BYTES, type Bodies } from '../../../src/core/schemas.ts'

export const NOW = 1_800_000_000_000

/** A deterministic identity per small integer. */
export function who (n: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(n))
}

export const h32 = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const hex64 = (n: number): string => n.toString(16).padStart(64, '0')

/** A real Ed25519 libp2p peer id (base58btc) shape; presence does not check it against a key. */
export const PEER_ID = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

/** Typical bodies. Receipt bytes are placeholders that pass the schema, not a verifiable receipt. */
export function sampleBodies (): Bodies {
  return {
    presence: { peerId: PEER_ID, provider: 'wasm', threads: 4, models: [hex64(1), hex64(2)], app: 'essaim/0.1.0' },
    job: {
      model: { id: 'digits-cnn', sha256: hex64(7) },
      shards: [{ inputHash: h32(1), bytes: 3136 }, { inputHash: h32(2), bytes: 3136 }],
      policy: { replicas: 2, quorum: 2, compare: { kind: 'allclose', atol: 1e-4, rtol: 1e-3 }, canaryRate: 0.05, deadline: NOW + 3_600_000 }
    },
    attestation: { jobId: h32(9), shard: 1, inputHash: h32(2), outputHash: h32(3), provider: 'webgpu', ortVersion: '1.30.0', threads: 1, ms: 12.5 },
    verdict: { jobId: h32(9), shard: 1, outputHash: h32(3), credited: [who(1).publicKey, who(2).publicKey], rejected: [who(3).publicKey] },
    'tree-head': { size: 5, root: h32(4), prev: { size: 3, root: h32(5), consistency: [h32(6), h32(7)] } },
    receipt: { verdict: new Uint8Array(100), index: 3, proof: [h32(5), h32(6), h32(7)], head: new Uint8Array(100) }
  }
}

/** Bodies at every schema maximum: they must still fit their kind's byte cap. */
export function maxBodies (): Bodies {
  const peers = (base: number): Uint8Array[] => Array.from({ length: LIMITS.verdictPeers }, (_, i) => new Uint8Array(32).fill(base + i))
  return {
    presence: { peerId: 'z'.repeat(64), provider: 'webgpu', threads: 256, models: Array.from({ length: LIMITS.presenceModels }, (_, i) => hex64(i)), app: '~'.repeat(32) },
    job: {
      model: { id: '~'.repeat(64), sha256: 'f'.repeat(64), bytes: MAX_MODEL_BYTES },
      shards: Array.from({ length: LIMITS.jobShards }, (_, i) => ({ inputHash: h32(i % 256), bytes: 64 * 1024 * 1024 })),
      policy: { replicas: 16, quorum: 16, compare: { kind: 'allclose', atol: 0.123456789, rtol: 0.987654321 }, canaryRate: 0.333333333, deadline: Number.MAX_SAFE_INTEGER }
    },
    attestation: { jobId: h32(1), shard: LIMITS.jobShards - 1, inputHash: h32(2), outputHash: h32(3), provider: 'webgpu', ortVersion: '~'.repeat(32), threads: 256, ms: 123456.789 },
    verdict: { jobId: h32(1), shard: LIMITS.jobShards - 1, outputHash: h32(3), credited: peers(0), rejected: peers(100) },
    'tree-head': { size: Number.MAX_SAFE_INTEGER, root: h32(9), prev: { size: Number.MAX_SAFE_INTEGER, root: h32(8), consistency: Array.from({ length: LIMITS.proofHashes }, (_, i) => h32(i)) } },
    receipt: { verdict: new Uint8Array(4096), index: Number.MAX_SAFE_INTEGER - 1, proof: Array.from({ length: LIMITS.proofHashes }, (_, i) => h32(i)), head: new Uint8Array(3 * 1024) }
  }
}

export const ALL_KINDS: Kind[] = ['presence', 'job', 'attestation', 'verdict', 'tree-head', 'receipt']
