/**
 * Harness page (bench/compute.html, built beside the app): exposes
 * `window.essaimCompute` to Playwright so the bench can time bare
 * onnxruntime-web and the e2e test can drive the ComputeClient directly
 * (e.g. hand the worker corrupted bytes, which the app never does). Tensors
 * cross Playwright's boundary as base64 `encodeTensors` bytes.
 */
import { decodeTensors, encodeTensors } from '../src/core/tensors.ts'
import { toHex } from '../src/core/bytes.ts'
import { bundledCatalog } from '../src/compute/bundled-catalog.ts'
import { ComputeClient } from '../src/compute/client.ts'
import { nativeEd25519 } from '../src/core/native-ed25519.ts'
import { forgetVerifications, identityFromSeedAsync, randomSeed, signAsync, verifySignatureAsync, type Identity } from '../src/core/identity.ts'
import { sealAsync, ReplayWindow, type Envelope } from '../src/core/envelope.ts'
import { MerkleLog } from '../src/core/merkle-log.ts'
import { issueReceiptAsync } from '../src/core/receipt.ts'
import { sealTreeHeadAsync, type HeadClaim } from '../src/core/tree-head.ts'
import { Ledger } from '../src/core/ledger.ts'
import { GOSSIP_MAX_FUTURE_MS, LOG_MAX_AGE_MS, WORK_MAX_BATCH } from '../src/net/constants.ts'
import { checkPresenceMessage } from '../src/net/presence.ts'
import { checkSignedMessage } from '../src/net/signed-topic.ts'
import type { Message } from '@libp2p/gossipsub'
import { benchInput } from './compute-inputs.ts'
import type { RawReply, RawRequest } from './compute-raw-worker.ts'
import type { WorkerReply } from '../src/compute/protocol.ts'

const catalog = bundledCatalog()
/** A libp2p peer id of the right shape, for heartbeats (bench gossipCheckMs). */
const PEER_ID = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
/** Bytes an attestation's signature covers, about (bench signVerifyMs). */
const SIGNED_BYTES = 320
/** Untimed runs before a bare rate is taken (see compute-raw-worker.ts). */
const RAW_WARM_MS = 3000

function model (id: string): (typeof catalog.models)[number] {
  const m = catalog.models.find(x => x.id === id)
  if (m === undefined) throw new Error(`no catalog model ${id}`)
  return m
}
const modelUrl = (file: string): string => new URL(`../models/${file}`, document.baseURI).href
const b64 = (bytes: Uint8Array): string => { let s = ''; for (const b of bytes) s += String.fromCharCode(b); return btoa(s) }
const unb64 = (text: string): Uint8Array => Uint8Array.from(atob(text), c => c.charCodeAt(0))

async function bytesOf (id: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(modelUrl(model(id).file))).arrayBuffer())
}

const api = {
  ids: (): string[] => catalog.models.map(m => m.id),
  crossOriginIsolated: (): boolean => globalThis.crossOriginIsolated,

  /** Samples/s of bare onnxruntime-web on the model's bench input, after `warmMs` of untimed runs; `sizes` overrides its symbolic dims (e.g. `{ N: 8 }`). */
  async rawSps (id: string, threads: number, minMs = 2000, minRuns = 5, sizes: Record<string, number> = {}, warmMs = RAW_WARM_MS): Promise<RawReply> {
    const worker = new Worker(new URL('./compute-raw-worker.ts', import.meta.url), { type: 'module' })
    try {
      const { inputs, samples } = benchInput(model(id), sizes)
      const req: RawRequest = { modelUrl: modelUrl(model(id).file), threads, inputs, samples, minMs, minRuns, warmMs }
      return await new Promise<RawReply>(resolve => {
        worker.onmessage = (e: MessageEvent<RawReply>) => { resolve(e.data) }
        worker.onerror = e => { resolve({ ok: false, error: e.message }) }
        worker.postMessage(req)
      })
    } finally {
      worker.terminate()
    }
  },

  /**
   * Samples/s of the volunteer's own shard code alone (`runShard` in a fresh
   * ComputeClient, nothing of the swarm around it) on the given shard inputs
   * (base64 bytes as a requester stored them), one after another. A first,
   * untimed pass over all of them warms the worker up: V8 first runs
   * onnxruntime's WASM through its baseline compiler and swaps in optimised
   * code as functions get hot, so a fresh worker is slower for its first
   * seconds than the volunteer's long-running one.
   */
  async shardSps (id: string, inputsB64: string[], threads: number): Promise<{ sps: number, samples: number, ms: number }> {
    const client = new ComputeClient({ threads, preferGpu: false })
    try {
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes: await bytesOf(id) }, { batchable: m.batchable })
      const inputs = inputsB64.map(unb64)
      for (const input of inputs) await client.runShard(m.sha256, m.processing, input)
      let samples = 0
      const t0 = performance.now()
      for (const input of inputs) samples += (await client.runShard(m.sha256, m.processing, input)).samples?.count ?? 1
      const ms = performance.now() - t0
      return { sps: samples * 1000 / ms, samples, ms }
    } finally {
      client.terminate()
    }
  },

  /**
   * Ed25519 in this page as the hot path does it (identity.ts `signAsync` and
   * `verifySignatureAsync`: native where the browser has it, one at a time,
   * awaited): ms per signature and per verification over `count` distinct
   * messages the size of an attestation's signed bytes, after an untimed
   * round. Verifications start from an empty memo, as a requester's do.
   */
  async signVerifyMs (count: number): Promise<{ signMs: number, verifyMs: number, native: boolean }> {
    const signer = await identityFromSeedAsync(randomSeed())
    const messages = Array.from({ length: count }, (_, i) => { const m = new Uint8Array(SIGNED_BYTES); crypto.getRandomValues(m); m[0] = i & 255; return m })
    const round = async (): Promise<{ signMs: number, verifyMs: number }> => {
      forgetVerifications()
      const sigs: Uint8Array[] = []
      const t0 = performance.now()
      for (const m of messages) sigs.push(await signAsync(signer, m))
      const t1 = performance.now()
      forgetVerifications()
      for (let i = 0; i < count; i++) if (!await verifySignatureAsync(sigs[i]!, messages[i]!, signer.publicKey)) throw new Error('a signature did not verify')
      return { signMs: (t1 - t0) / count, verifyMs: (performance.now() - t1) / count }
    }
    await round()
    const { signMs, verifyMs } = await round()
    return { signMs, verifyMs, native: await nativeEd25519() }
  },

  /**
   * What a peer spends on each gossip message it receives, as it spends it:
   * the topic validator's check (presence.ts `checkPresenceMessage`,
   * signed-topic.ts `checkSignedMessage`: `openAsync` with the topic's clock
   * and replay rules) and, for a receipt, the ledger's (`addReceipt` given
   * the opened envelope: the verdict, the head and the inclusion proof).
   * Over `count` distinct messages of each kind from `count` signers (a
   * requester's receipts: one log, a head per WORK_MAX_BATCH verdicts, one
   * hand-in's worth, which its heads batch), from an empty signature memo. Wall ms per
   * message, checked one after another: an upper bound of the CPU it takes,
   * as it includes the hops to and from WebCrypto's thread.
   */
  async gossipCheckMs (count: number): Promise<{ presence: number, attestation: number, receipt: number }> {
    const signers: Identity[] = []
    for (let i = 0; i < count; i++) signers.push(await identityFromSeedAsync(randomSeed()))
    const requester = await identityFromSeedAsync(randomSeed())
    const now = Date.now()
    const meta = (i: number): { seq: number, ts: number } => ({ seq: i + 1, ts: now })
    const hash = (i: number): Uint8Array => { const h = new Uint8Array(32); crypto.getRandomValues(h); h[0] = i & 255; return h }
    const jobId = hash(0)
    const presence = await Promise.all(signers.map(async (s, i) => await sealAsync('presence', {
      peerId: PEER_ID, provider: 'wasm', threads: 1, models: [toHex(hash(i)), toHex(hash(i + 1))], app: 'essaim/0.1.0'
    }, s, meta(i))))
    const attestations = await Promise.all(signers.map(async (s, i) => await sealAsync('attestation', {
      jobId, shard: i, inputHash: hash(i), outputHash: hash(i + 1), provider: 'wasm', ortVersion: '1.30.0', threads: 1, ms: 1.5
    }, s, meta(i))))
    const log = new MerkleLog()
    const verdicts: Uint8Array[] = []
    const receipts: Uint8Array[] = []
    let prev: HeadClaim | null = null
    let seq = 0
    for (let i = 0; i < count; i += WORK_MAX_BATCH) {
      const batch: number[] = []
      for (let k = i; k < Math.min(count, i + WORK_MAX_BATCH); k++) {
        verdicts.push(await sealAsync('verdict', { jobId, shard: k, outputHash: hash(k), credited: [signers[k]!.publicKey], rejected: [] }, requester, { seq: ++seq, ts: now }))
        batch.push(log.append(verdicts[k]!))
      }
      const head = await sealTreeHeadAsync(requester, log, { seq: ++seq, ts: now }, prev)
      prev = { size: log.size, root: log.root() }
      for (const leaf of batch) receipts.push((await issueReceiptAsync(requester, log, verdicts[leaf]!, leaf, head, { seq: ++seq, ts: now })).bytes)
    }
    /** A gossip message as gossipsub hands it to a topic validator: signed by `signer`, from PEER_ID (the peer the heartbeats name). */
    const gossiped = (data: Uint8Array, signer: Identity): Message => ({ type: 'signed', data, key: { raw: signer.publicKey }, from: { toString: () => PEER_ID } }) as unknown as Message
    const timed = async (messages: Message[], check: (msg: Message) => Promise<void>): Promise<number> => {
      forgetVerifications()
      const t0 = performance.now()
      for (const msg of messages) await check(msg)
      return (performance.now() - t0) / messages.length
    }
    const ok = (r: { ok: true } | { ok: false, reason: string }): void => { if (!r.ok) throw new Error(`refused: ${r.reason}`) }
    const ledger = new Ledger()
    const presenceReplay = new ReplayWindow()
    const attestReplay = new ReplayWindow()
    const logOptions = { now, maxAgeMs: LOG_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS }
    return {
      presence: await timed(presence.map((b, i) => gossiped(b, signers[i]!)), async msg => {
        ok(await checkPresenceMessage(msg, { now: Date.now(), replay: presenceReplay }))
      }),
      attestation: await timed(attestations.map((b, i) => gossiped(b, signers[i]!)), async msg => {
        ok(await checkSignedMessage(msg, { ...logOptions, kinds: ['attestation'], replay: attestReplay }))
      }),
      receipt: await timed(receipts.map(b => gossiped(b, requester)), async msg => {
        // Then Volunteer.takeReceipt: the ledger, given what the validator opened.
        const checked = await checkSignedMessage(msg, { ...logOptions, kinds: ['receipt', 'tree-head'] })
        ok(checked)
        ok(ledger.addReceipt(msg.data, (checked as { envelope: Envelope<'receipt'> }).envelope))
      })
    }
  },

  /**
   * Loads a catalog model in a fresh ComputeClient and runs base64 input bytes; `corrupt` flips one model byte first;
   * `prepare` starts the worker's runtime before the model is fetched (as a volunteer does) and returns what it started.
   */
  async clientRun (id: string, inputB64: string, options: { threads?: number, corrupt?: boolean, prepare?: boolean } = {}): Promise<{ ok: true, output: string, provider: string, threads: number, ortVersion: string, prepared?: { provider: string, threads: number } } | { ok: false, name: string, message: string }> {
    const client = new ComputeClient({ threads: options.threads ?? 1, preferGpu: false })
    try {
      const prepared = options.prepare === true ? await client.prepare() : undefined
      const bytes = await bytesOf(id)
      if (options.corrupt === true) bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes }, { batchable: m.batchable })
      const r = await client.run(m.sha256, unb64(inputB64))
      if (!decodeTensors(r.output).ok) throw new Error('undecodable output')
      return { ok: true, output: b64(r.output), provider: r.provider, threads: r.threads, ortVersion: r.ortVersion, ...(prepared !== undefined ? { prepared: { provider: prepared.provider, threads: prepared.threads } } : {}) }
    } catch (err) {
      return { ok: false, name: (err as Error).name, message: (err as Error).message }
    } finally {
      client.terminate()
    }
  },

  /** Splits an input along dim 0 into `parts` concurrent runs (the worker batches them) and returns each output. */
  async clientRunSplit (id: string, inputB64: string, parts: number): Promise<{ outputs: string[], batched: number[] }> {
    const client = new ComputeClient({ threads: 1, preferGpu: false })
    try {
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes: await bytesOf(id) }, { batchable: m.batchable })
      const decoded = decodeTensors(unb64(inputB64))
      if (!decoded.ok) throw new Error(decoded.reason)
      const [name, t] = Object.entries(decoded.tensors)[0]!
      const rows = t.dims[0]!
      const rowBytes = t.data.length / rows
      const per = Math.ceil(rows / parts)
      const inputs = Array.from({ length: parts }, (_, i) => encodeTensors({ [name]: { dtype: t.dtype, dims: [Math.min(per, rows - i * per), ...t.dims.slice(1)], data: t.data.slice(i * per * rowBytes, Math.min(rows, (i + 1) * per) * rowBytes) } }))
      const results = await Promise.all(inputs.map(async input => await client.run(m.sha256, input)))
      return { outputs: results.map(r => b64(r.output)), batched: results.map(r => r.batched) }
    } finally {
      client.terminate()
    }
  },

  /**
   * Computes a shard in the worker (`runShard`) twice on one client: the first
   * cancelled through its AbortSignal as soon as it is posted, the second run
   * to the end (a cancelled shard must leave the worker able to run the next).
   */
  async clientShard (id: string, inputB64: string): Promise<{ cancelled: string, output: string, busyMs: number }> {
    const client = new ComputeClient({ threads: 1, preferGpu: false })
    try {
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes: await bytesOf(id) }, { batchable: m.batchable })
      const input = unb64(inputB64)
      const controller = new AbortController()
      const first = client.runShard(m.sha256, m.processing, input, { signal: controller.signal })
      controller.abort()
      const cancelled = await first.then(() => 'resolved', (err: Error) => err.name)
      const r = await client.runShard(m.sha256, m.processing, input)
      return { cancelled, output: b64(r.output), busyMs: r.busyMs }
    } finally {
      client.terminate()
    }
  },

  /** A run cancelled through its AbortSignal rejects with CancelledError. */
  async clientCancel (id: string): Promise<string> {
    const client = new ComputeClient({ threads: 1, preferGpu: false })
    try {
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes: await bytesOf(id) })
      const controller = new AbortController()
      const { inputs } = benchInput(m)
      const p = client.run(m.sha256, encodeTensors(inputs), { signal: controller.signal })
      controller.abort()
      return await p.then(() => 'resolved', (err: Error) => err.name)
    } finally {
      client.terminate()
    }
  },

  /**
   * What the worker itself answers when runs are aborted: three runs are
   * queued behind each other (`id` must not batch), the last two aborted at
   * once. Reads the worker's own replies (the client drops them once it has
   * rejected), as `result` or the error name, for each run in order.
   */
  async workerCancelQueued (id: string): Promise<string[]> {
    const replies = new Map<number, string>()
    let worker: Worker | undefined
    const client = new ComputeClient({
      threads: 1,
      preferGpu: false,
      createWorker: () => {
        worker = new Worker(new URL('../src/compute/worker.ts', import.meta.url), { type: 'module', name: 'essaim-compute' })
        worker.addEventListener('message', (e: MessageEvent<WorkerReply>) => {
          if (e.data.type === 'result') replies.set(e.data.id, 'result')
          if (e.data.type === 'error') replies.set(e.data.id, e.data.error.name)
        })
        return worker
      }
    })
    try {
      const m = model(id)
      await client.load({ sha256: m.sha256, bytes: await bytesOf(id) }, { batchable: m.batchable })
      const input = encodeTensors(benchInput(m).inputs)
      const controllers = [0, 1, 2].map(() => new AbortController())
      const runs = controllers.map(async c => await client.run(m.sha256, input, { signal: c.signal }).then(() => 'resolved', (err: Error) => err.name))
      controllers[1]!.abort()
      controllers[2]!.abort()
      await Promise.all(runs)
      // Run ids follow the load's (1): 2, 3, 4. Wait for the worker's answer to each.
      const ids = [2, 3, 4]
      for (let waited = 0; ids.some(i => !replies.has(i)) && waited < 60_000; waited += 50) await new Promise(resolve => setTimeout(resolve, 50))
      return ids.map(i => replies.get(i) ?? 'no reply')
    } finally {
      client.terminate()
    }
  }
}

declare global { interface Window { essaimCompute: typeof api } }
window.essaimCompute = api
document.getElementById('log')!.dataset.ready = 'true'
