/**
 * Trust-core throughput in Node, single thread: Ed25519 sign and verify
 * (@noble/curves, the synchronous API: `sign_per_s`, `verify_per_s`), the
 * same through the platform's native Ed25519 as the swarm's hot path uses it
 * (`signAsync`, `verifySignatureAsync` one at a time, awaited:
 * `sign_native_per_s`, `verify_native_per_s`), a signed envelope round trip (seal = canonical CBOR +
 * sign, then open = strict decode + schema + verify), the envelope codec
 * alone (`envelope_encode_decode_per_s`: canonical CBOR encode of a signed
 * envelope, then the strict decode, canonical re-check and body schema that
 * open() runs before the signature), and the incremental RFC 9162
 * MerkleLog: appends per second while building logs of 10^5 and 10^6
 * entries, and inclusion proofs per second served from each of them
 * (spread-out leaves, each proof also verified so a wrong one would throw).
 * Each figure is the median over `ctx.repeats` runs.
 */
import type { BenchContext, BenchFigures } from '../types.ts'
import { forgetVerifications, identityFromSeed, sign, signAsync, verifySignature, verifySignatureAsync } from '../../src/core/identity.ts'
import { decodeCanonical, encodeCanonical } from '../../src/core/cbor.ts'
import { BYTE_CAPS } from '../../src/core/constants.ts'
import { open, seal } from '../../src/core/envelope.ts'
import { MerkleLog } from '../../src/core/merkle-log.ts'
import { verifyInclusion } from '../../src/core/merkle.ts'
import { checkBody, type AttestationBody } from '../../src/core/schemas.ts'

const id = identityFromSeed(new Uint8Array(32).fill(7))

/** Runs `op` in batches until `ms` have passed; returns operations per second. */
function rate (ms: number, batch: number, op: (i: number) => void): number {
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    for (let k = 0; k < batch; k++) op(n + k)
    n += batch
    t = performance.now()
  }
  return n / ((t - t0) / 1000)
}

function leafData (i: number): Uint8Array {
  const d = new Uint8Array(64)
  new DataView(d.buffer).setUint32(0, i)
  return d
}

/** Inclusion proofs served from `log` and verified, per second. */
function proofRate (log: MerkleLog): number {
  const root = log.root()
  return rate(500, 16, i => {
    const index = (i * 7919 + 13) % log.size
    if (!verifyInclusion(log.leafHash(index), index, log.size, log.inclusionProof(index), root)) throw new Error('proof failed')
  })
}

function buildLog (n: number): { log: MerkleLog, perS: number } {
  const log = new MerkleLog()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) log.append(leafData(i))
  return { log, perS: n / ((performance.now() - t0) / 1000) }
}

export default async function run (ctx: BenchContext): Promise<BenchFigures> {
  const samples: Record<string, number[]> = {
    sign_per_s: [], verify_per_s: [], sign_native_per_s: [], verify_native_per_s: [], envelope_roundtrip_per_s: [], envelope_encode_decode_per_s: [], merkle_append_per_s_1e5: [], merkle_proof_per_s_1e5: [], merkle_append_per_s_1e6: [], merkle_proof_per_s_1e6: []
  }
  const msgs = Array.from({ length: 256 }, (_, i) => leafData(i))
  const body: AttestationBody = { jobId: new Uint8Array(32).fill(1), shard: 3, inputHash: new Uint8Array(32).fill(2), outputHash: new Uint8Array(32).fill(3), provider: 'wasm', ortVersion: '1.30.0', threads: 4, ms: 12.5 }
  for (let r = 0; r < ctx.repeats; r++) {
    samples.sign_per_s!.push(rate(500, 16, i => { sign(id, msgs[i % 256]!) }))
    // Signatures never checked before: verifySignature remembers the ones that
    // verified, and its memo is not what checking a new message costs.
    // (sign() also remembers its own signatures as verified: forgotten here.)
    const fresh = Array.from({ length: 300 }, (_, i) => leafData(1_000_000 * (r + 1) + i))
    const freshSigs = fresh.map(m => sign(id, m))
    forgetVerifications()
    const t0 = performance.now()
    fresh.forEach((m, i) => { if (!verifySignature(freshSigs[i]!, m, id.publicKey)) throw new Error('verify failed') })
    samples.verify_per_s!.push(fresh.length / ((performance.now() - t0) / 1000))
    forgetVerifications()
    let t = performance.now()
    for (const m of fresh) await signAsync(id, m)
    samples.sign_native_per_s!.push(fresh.length / ((performance.now() - t) / 1000))
    forgetVerifications()
    t = performance.now()
    for (const [i, m] of fresh.entries()) if (!await verifySignatureAsync(freshSigs[i]!, m, id.publicKey)) throw new Error('native verify failed')
    samples.verify_native_per_s!.push(fresh.length / ((performance.now() - t) / 1000))
    // A round trip as between two peers: the opener has not seen the signature before.
    samples.envelope_roundtrip_per_s!.push(rate(500, 8, i => {
      const bytes = seal('attestation', { ...body, shard: i % 4096 }, id, { seq: i, ts: 1_800_000_000_000 })
      forgetVerifications()
      if (!open(bytes).ok) throw new Error('open failed')
    }))
    // The codec without signature work: the same envelope map, encoded, then decoded and checked as open() does first.
    const signed = open(seal('attestation', body, id, { seq: 1, ts: 1_800_000_000_000 }))
    if (!signed.ok) throw new Error('open failed')
    const { id: _id, ...fields } = signed.envelope
    samples.envelope_encode_decode_per_s!.push(rate(500, 64, i => {
      const decoded = decodeCanonical(encodeCanonical({ ...fields, seq: i }), BYTE_CAPS.attestation)
      if (!decoded.ok || checkBody('attestation', (decoded.value as { body: unknown }).body) !== undefined) throw new Error('decode failed')
    }))
    const small = buildLog(100_000)
    samples.merkle_append_per_s_1e5!.push(small.perS)
    samples.merkle_proof_per_s_1e5!.push(proofRate(small.log))
    const large = buildLog(1_000_000)
    samples.merkle_append_per_s_1e6!.push(large.perS)
    samples.merkle_proof_per_s_1e6!.push(proofRate(large.log))
    ctx.log(`  run ${r + 1}: ${Object.entries(samples).map(([k, v]) => `${k} ${Math.round(v.at(-1)!)}`).join(', ')}`)
  }
  const out: BenchFigures = {}
  for (const [key, values] of Object.entries(samples)) out[key] = Math.round(ctx.spread(key, values))
  return out
}
