/**
 * A Node adversary peer for the adversarial e2e suite (issue 7). It is a
 * real Essaim peer — the app's own libp2p configuration (src/net/node.ts:
 * WebRTC, circuit relay, noise, yamux, gossipsub StrictSign, mesh, presence,
 * blob, work) with an Ed25519 identity that is also its libp2p key — so it
 * joins through the relay, dials tabs directly over WebRTC and speaks the
 * real protocols. On top it can misbehave: volunteer with wrong outputs
 * (random, constant, colluding, copied, replayed), publish raw bytes on any
 * topic, send raw frames on any stream protocol, flood pulls, serve wrong
 * model bytes, and sign anything with its key (equivocation).
 *
 * Test code only; never shipped.
 */
import '../../scripts/node22-polyfills.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import type { PeerId, Stream } from '@libp2p/interface'
import { createEssaimNode, type EssaimNode } from '../../src/net/node.ts'
import { presence, type Presence } from '../../src/net/presence.ts'
import { signedTopic, type SignedTopic } from '../../src/net/signed-topic.ts'
import { generateIdentity, type Identity } from '../../src/core/identity.ts'
import { seal, type Envelope } from '../../src/core/envelope.ts'
import { sha256, toHex } from '../../src/core/bytes.ts'
import { decodeTensors, encodeTensors, makeTensor } from '../../src/core/tensors.ts'
import { encodeCanonical } from '../../src/core/cbor.ts'
import type { Kind } from '../../src/core/constants.ts'
import type { BodyOf } from '../../src/core/schemas.ts'
import type { BlobStore } from '../../src/net/protocols/blob.ts'
import type { Assignment, PullReply, ShardResult } from '../../src/net/protocols/work.ts'
import { peerIdOf } from '../../src/net/peer-keys.ts'
import { MerkleLog } from '../../src/core/merkle-log.ts'
import { sealTreeHead } from '../../src/core/tree-head.ts'
import { issueReceipt } from '../../src/core/receipt.ts'
import { Sequencer } from '../../src/swarm/sequencer.ts'
import { APP_VERSION } from '../../src/swarm/version.ts'
import {
  GOSSIP_MAX_FUTURE_MS, JOB_MAX_AGE_MS, LOG_MAX_AGE_MS, TOPIC_ATTEST, TOPIC_JOBS
} from '../../src/net/constants.ts'

/** What a volunteer that gives up (Lie 'give-up') says. */
export const GIVE_UP_ERROR = 'not enough memory to run this model (adversary)'

/** How a lying volunteer answers a shard. */
export type Lie =
  /** Random logits: every liar disagrees with everyone. */
  | 'random'
  /** The same output for every shard. */
  | 'constant'
  /** A wrong answer that is a deterministic function of the input: colluders agree on it. */
  | 'collude'
  /** The output hash of another peer's attestation for the same shard, re-signed by us (no matching bytes). */
  | 'copy'
  /** Our own attestation of an earlier shard, handed in again for this one. */
  | 'replay'
  /** Another peer's attestation, unchanged. */
  | 'steal'
  /** No answer: the shard handed back with an error, as by a volunteer that cannot run it. */
  | 'give-up'

export interface AdversaryInit {
  relay: string
  /** Model hashes to advertise in presence (with `blobs`, the bytes served for them). */
  models?: string[]
  /** What the blob service serves for each hash (wrong bytes, for the model attack). */
  blobs?: Map<string, Uint8Array>
}

export interface AdversaryStats {
  pulls: number
  assignments: number
  handedIn: number
  blobServes: number
}

/** Digits-shaped output (`logits`, `probs`: float32 [n, 10]) whose argmax per row is `pick(row)`. */
export function digitsOutput (input: Uint8Array, pick: (row: number) => number): Uint8Array {
  const decoded = decodeTensors(input, { maxBytes: 64 << 20 })
  const n = decoded.ok ? Number(Object.values(decoded.tensors)[0]?.dims[0] ?? 1) : 1
  const values = new Float32Array(n * 10)
  for (let r = 0; r < n; r++) values[r * 10 + (pick(r) % 10)] = 1
  return encodeTensors({ logits: makeTensor('float32', [n, 10], values), probs: makeTensor('float32', [n, 10], values) })
}

/** What a pull flood got: pulls answered, pulls that failed (refused stream, timeout), leases and shards granted. */
export interface FloodStats {
  pulls: number
  failed: number
  leases: Set<number>
  shards: Set<number>
  /** When each lease was granted (ms since the epoch). */
  grants: number[]
}

export class Adversary {
  readonly stats: AdversaryStats = { pulls: 0, assignments: 0, handedIn: 0, blobServes: 0 }
  /** Jobs seen on gossip, by id (hex). */
  readonly jobs = new Map<string, Envelope<'job'>>()
  /** Attestations seen on gossip (other peers'), as envelope bytes with their body. */
  readonly attestations: Array<{ bytes: Uint8Array, body: BodyOf<'attestation'> }> = []
  /** Our own attestations, for replays. */
  readonly own: Uint8Array[] = []
  readonly seq = new Sequencer()
  private topics: SignedTopic[] = []

  private constructor (readonly node: EssaimNode<{ presence: Presence }>, readonly identity: Identity, readonly relay: string) {}

  static async start (init: AdversaryInit): Promise<Adversary> {
    const identity = generateIdentity()
    const blobs = init.blobs ?? new Map<string, Uint8Array>()
    let self: Adversary | undefined
    const store: BlobStore = {
      get: async sha => { const b = blobs.get(sha); if (b !== undefined && self !== undefined) self.stats.blobServes++; return b },
      has: async sha => blobs.has(sha)
    }
    const node = await createEssaimNode({
      identity,
      relays: [multiaddr(init.relay)],
      allowPrivateAddresses: true,
      blobStore: store,
      services: {
        presence: presence({ identity, describe: () => ({ provider: 'wasm', threads: 1, models: init.models ?? [], app: APP_VERSION }) })
      }
    })
    self = new Adversary(node, identity, init.relay)
    self.listen()
    return self
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  private listen (): void {
    const log = logger('essaim:adversary')
    const pubsub = this.node.services.pubsub
    this.topics.push(signedTopic(pubsub, {
      topic: TOPIC_JOBS, kinds: ['job'], maxAgeMs: JOB_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS, log,
      onMessage: env => { this.jobs.set(toHex(env.id), env as Envelope<'job'>) }
    }))
    this.topics.push(signedTopic(pubsub, {
      topic: TOPIC_ATTEST, kinds: ['attestation'], maxAgeMs: LOG_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS, log,
      onMessage: (env, bytes) => { this.attestations.push({ bytes, body: (env as Envelope<'attestation'>).body }) }
    }))
  }

  /** Dials a tab directly over WebRTC (signalled through the relay), with retries and jitter. */
  async connect (peerId: string, options: { attempts?: number } = {}): Promise<void> {
    const target = multiaddr(`${this.relay}/p2p-circuit/webrtc/p2p/${peerId}`)
    const attempts = options.attempts ?? 15
    for (let i = 1; ; i++) {
      if (this.directTo(peerId)) return
      try {
        await this.node.dial(target, { signal: AbortSignal.timeout(15_000) })
        if (this.directTo(peerId)) return
      } catch (err) {
        if (i >= attempts) throw new Error(`could not reach ${peerId} directly: ${(err as Error).message}`)
      }
      await delay(500 + Math.random() * 1_000 * i)
    }
  }

  directTo (peerId: string): boolean {
    return this.node.getConnections(peerIdFromString(peerId)).some(c => c.remoteAddr.toString().includes('/webrtc') && !c.remoteAddr.toString().includes('/p2p-circuit/p2p'))
  }

  /** Waits until a job is known from gossip. */
  async waitForJob (options: { timeoutMs?: number } = {}): Promise<Envelope<'job'>> {
    const until = Date.now() + (options.timeoutMs ?? 120_000)
    while (Date.now() < until) {
      const job = [...this.jobs.values()][0]
      if (job !== undefined) return job
      await delay(250)
    }
    throw new Error('no job seen on gossip')
  }

  /** One lying result for an assignment. */
  private lie (how: Lie, job: Envelope<'job'>, a: Assignment): ShardResult {
    if (how === 'give-up') return { lease: a.lease, output: null, attestation: null, error: GIVE_UP_ERROR }
    const inputHash = sha256(a.input)
    const attest = (outputHash: Uint8Array): Uint8Array => {
      const att = seal('attestation', {
        jobId: job.id, shard: a.shard, inputHash, outputHash, provider: 'wasm', ortVersion: '1.30.0', threads: 1, ms: 5
      }, this.identity, this.seq.next('attestation'))
      this.own.push(att)
      return att
    }
    let output: Uint8Array
    switch (how) {
      case 'random': output = digitsOutput(a.input, () => Math.floor(Math.random() * 10)); break
      case 'constant': output = digitsOutput(new Uint8Array(0), () => 3); break
      case 'collude': { const h = sha256(a.input); output = digitsOutput(a.input, r => h[r % 32]!) ; break }
      case 'copy': {
        const other = this.attestations.find(x => x.body.shard === a.shard && toHex(x.body.jobId) === toHex(job.id))
        output = digitsOutput(a.input, () => 7)
        return { lease: a.lease, output, attestation: attest(other?.body.outputHash ?? sha256(new Uint8Array([1]))), error: null }
      }
      case 'steal': {
        const other = this.attestations.find(x => x.body.shard === a.shard) ?? this.attestations.at(-1)
        output = digitsOutput(a.input, () => 7)
        return { lease: a.lease, output, attestation: other?.bytes ?? attest(sha256(output)), error: null }
      }
      case 'replay': {
        const old = this.own[0]
        output = digitsOutput(a.input, () => 5)
        return { lease: a.lease, output, attestation: old ?? attest(sha256(output)), error: null }
      }
    }
    return { lease: a.lease, output, attestation: attest(sha256(output)), error: null }
  }

  /**
   * Volunteers for `job` with lying answers until the requester says done,
   * refuses us, or `signal` aborts. Never throws on network errors (they
   * are what happens to liars); returns how the run ended.
   */
  async volunteer (job: Envelope<'job'>, lies: Lie | ((shard: number) => Lie), options: { signal: AbortSignal, capacity?: number }): Promise<string> {
    const requester = peerIdFromSigner(job)
    const pick = typeof lies === 'function' ? lies : () => lies
    let pending: ShardResult[] = []
    while (!options.signal.aborted) {
      let reply: PullReply
      try {
        reply = await this.node.services.work.pull(requester, { job: job.id, capacity: options.capacity ?? 2, results: pending.splice(0, 8) }, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(15_000)]) })
      } catch (err) {
        if (options.signal.aborted) break
        await delay(500)
        continue
      }
      this.stats.pulls++
      this.stats.handedIn += reply.received.length
      if (reply.done) return reply.error ?? 'done'
      this.stats.assignments += reply.assignments.length
      pending = [...pending, ...reply.assignments.map(a => this.lie(pick(a.shard), job, a))]
      if (reply.assignments.length === 0 && pending.length === 0) await delay(Math.max(200, reply.waitMs))
    }
    return 'aborted'
  }

  /**
   * A pull flood: `lanes` pulls at a time, one after another with no pause,
   * each asking for `capacity` shards and never handing a result in, until
   * the job is done or `signal` aborts. Returns at once with the counts,
   * which fill in as it runs, and `done`, which never rejects.
   */
  floodPulls (job: Envelope<'job'>, options: { signal: AbortSignal, lanes?: number, capacity?: number }): { stats: FloodStats, done: Promise<void> } {
    const requester = peerIdFromSigner(job)
    const stats: FloodStats = { pulls: 0, failed: 0, leases: new Set(), shards: new Set(), grants: [] }
    const lane = async (): Promise<void> => {
      while (!options.signal.aborted) {
        try {
          const reply = await this.node.services.work.pull(requester, { job: job.id, capacity: options.capacity ?? 8, results: [] }, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(15_000)]) })
          stats.pulls++
          this.stats.pulls++
          for (const a of reply.assignments) { stats.leases.add(a.lease); stats.shards.add(a.shard); stats.grants.push(Date.now()) }
          this.stats.assignments += reply.assignments.length
          if (reply.done) return
        } catch {
          if (options.signal.aborted) return
          // Over the requester's stream cap, or the connection is busy: straight back, as a flooder would.
          stats.failed++
          await delay(20)
        }
      }
    }
    return { stats, done: Promise.all(Array.from({ length: options.lanes ?? 8 }, lane)).then(() => {}) }
  }

  /** Publishes raw bytes on a topic (gossipsub signs the message with our key; the content is ours to choose). */
  async publishRaw (topic: string, bytes: Uint8Array): Promise<void> {
    await this.node.services.pubsub.publish(topic, bytes)
  }

  /** Subscribes to a topic so publishing reaches its mesh. */
  subscribe (topic: string): void {
    this.node.services.pubsub.subscribe(topic)
  }

  /**
   * Opens `protocol` to `peer`, writes `chunks` raw (no framing added),
   * closes for writing and reads what comes back (bounded). Never throws.
   */
  async rawStream (peer: PeerId, protocol: string, chunks: Uint8Array[], options: { timeoutMs?: number } = {}): Promise<{ ok: boolean, bytes: number, error?: string }> {
    const ms = options.timeoutMs ?? 5_000
    let timer: ReturnType<typeof setTimeout> | undefined
    const hard = new Promise<{ ok: boolean, bytes: number, error?: string }>(resolve => { timer = setTimeout(() => { resolve({ ok: false, bytes: 0, error: 'hard timeout' }) }, ms + 1_000) })
    try {
      return await Promise.race([this.exchange(peer, protocol, chunks, ms), hard])
    } finally {
      clearTimeout(timer)
    }
  }

  private async exchange (peer: PeerId, protocol: string, chunks: Uint8Array[], ms: number): Promise<{ ok: boolean, bytes: number, error?: string }> {
    let stream: Stream | undefined
    const signal = AbortSignal.timeout(ms)
    const onAbort = (): void => { stream?.abort(new Error('fuzz exchange timed out')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await this.node.dialProtocol(peer, protocol, { signal })
      for (const c of chunks) {
        if (!stream.send(c)) await stream.onDrain({ signal })
      }
      await stream.close({ signal })
      let bytes = 0
      for await (const chunk of stream) {
        bytes += chunk.byteLength
        if (bytes > 1 << 20) break
      }
      return { ok: true, bytes }
    } catch (err) {
      stream?.abort(err as Error)
      return { ok: false, bytes: 0, error: (err as Error).message }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Seals any body of any kind with our key (for forged / re-signed / equivocating messages). */
  seal<K extends Kind>(kind: K, body: BodyOf<K>): Uint8Array {
    return seal(kind, body, this.identity, this.seq.next(kind))
  }

  /**
   * Two receipts of an equivocating requester: one verdict each, at leaf 0
   * of two different logs of size 1, under two signed tree heads with the
   * same size and different roots. Each credits `credited`.
   */
  equivocation (credited: Uint8Array[]): [Uint8Array, Uint8Array] {
    const jobId = sha256(new TextEncoder().encode(`equivocation ${this.peerId}`))
    const one = (outputHash: Uint8Array): Uint8Array => {
      const log = new MerkleLog()
      const verdict = this.seal('verdict', { jobId, shard: 0, outputHash, credited, rejected: [] })
      log.append(verdict)
      const head = sealTreeHead(this.identity, log, this.seq.next('tree-head'), null)
      return issueReceipt(this.identity, log, verdict, 0, head, this.seq.next('receipt'))
    }
    return [one(sha256(new Uint8Array([1]))), one(sha256(new Uint8Array([2])))]
  }

  async stop (): Promise<void> {
    this.topics.forEach(t => { t.stop() })
    await this.node.stop()
  }
}

export function peerIdFromSigner (env: Envelope): PeerId {
  return peerIdFromString(peerIdOf(env.signer))
}

/** A CBOR frame helper for fuzzing: canonical bytes of any value, length-prefixed (unsigned varint). */
export function lengthPrefixed (payload: Uint8Array, claimedLength = payload.length): Uint8Array {
  const varint: number[] = []
  let n = claimedLength
  while (n >= 0x80) { varint.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  varint.push(n)
  const out = new Uint8Array(varint.length + payload.length)
  out.set(varint, 0)
  out.set(payload, varint.length)
  return out
}

export { encodeCanonical }

export async function delay (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
