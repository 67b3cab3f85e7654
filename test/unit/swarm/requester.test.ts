/**
 * The Requester runtime on a real, started libp2p node (the app's own
 * configuration, src/net/node.ts, no relay) with a key the platform holds
 * (non-extractable, as in a browser), its JobStore on IndexedDB
 * (fake-indexeddb) and its ledger. Volunteers' pulls are handed to the
 * handler it serves on `/essaim/work/1` directly (the stream itself has its
 * own tests, test/unit/net/work.test.ts), with real signed attestations.
 * What it holds the requester to: every signature asynchronous (a key the
 * page cannot read), verdicts in its log in the order the results were
 * decided, a job shown verified and done only with its verdicts stored, a
 * receipt bundle that verifies offline, and a reload that brings back
 * exactly that.
 */
import '../../../scripts/node22-polyfills.ts'
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { generateIdentity, generatePlatformIdentity, type Identity } from '../../../src/core/identity.ts'
import { sealAsync, open, type Envelope } from '../../../src/core/envelope.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'
import { verifyReceipt } from '../../../src/core/receipt.ts'
import { encodeTensors } from '../../../src/core/tensors.ts'
import { Ledger } from '../../../src/core/ledger.ts'
import { verifyBundle } from '../../../src/core/verify-bundle.ts'
import { createEssaimNode, libp2pKey } from '../../../src/net/node.ts'
import { presence } from '../../../src/net/presence.ts'
import { HEAD_REPEATS, TOPIC_LOG } from '../../../src/net/constants.ts'
import type { PullHandler, PullReply, ShardResult, WorkService } from '../../../src/net/protocols/work.ts'
import type { LogHandler } from '../../../src/net/protocols/log.ts'
import { JobStore } from '../../../src/store/job-store.ts'
import { Requester } from '../../../src/swarm/requester.ts'

let db = 0
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

interface Setup { requester: Requester, store: JobStore, pull: PullHandler, published: Array<{ topic: string, data: Uint8Array, at: number }>, serveLog: () => LogHandler }

/** A requester on its own node; `dbName` shared between two setups is a reload. */
async function setup (identity: Identity, dbName: string, options: { announceMs?: number, headRepeatMs?: number, heard?: boolean, now?: () => number } = {}): Promise<Setup> {
  const node = await createEssaimNode({
    identity,
    relays: [],
    allowPrivateAddresses: true,
    services: { presence: presence({ identity, describe: () => ({ provider: 'wasm', threads: 1, models: [], app: 'test' }) }) }
  })
  let handler: PullHandler | undefined
  const work = { serve: (h: PullHandler | undefined) => { handler = h } } as unknown as WorkService
  const store = new JobStore(dbName)
  // What it gossips (nobody is subscribed: published to nobody, and noted here).
  const published: Setup['published'] = []
  const pubsub = node.services.pubsub
  const publish = pubsub.publish.bind(pubsub)
  pubsub.publish = async (topic: string, data?: Uint8Array) => { published.push({ topic, data: data ?? new Uint8Array(0), at: Date.now() }); return await publish(topic, data) }
  // `heard`: as if a peer listened on the log topic (a requester signs heads and receipts only then).
  if (options.heard === true) {
    const subscribers = pubsub.getSubscribers.bind(pubsub)
    pubsub.getSubscribers = topic => topic === TOPIC_LOG ? [peerIdFromPrivateKey(libp2pKey(generateIdentity()))] : subscribers(topic)
  }
  // The catch-up handler it serves its log with, called directly here (the protocol has its own tests).
  let logHandler: LogHandler | undefined
  const serve = node.services.log.serve.bind(node.services.log)
  node.services.log.serve = h => { logHandler = h; serve(h) }
  const requester = new Requester({
    identity, peerId: node.peerId, pubsub, work, logService: node.services.log,
    presence: node.services.presence, store, ledger: new Ledger(), log: logger('essaim:test:requester'), announceMs: options.announceMs,
    headRepeatMs: options.headRepeatMs, now: options.now
  })
  await requester.start()
  cleanups.push(async () => { requester.stop(); await node.stop() })
  return { requester, store, published, pull: async (peer, request, options) => await handler!(peer, request, options), serveLog: () => logHandler! }
}

/** A volunteer: its peer id and what it signs. */
interface Vol { identity: Identity, peerId: PeerId }
function volunteer (): Vol {
  const identity = generateIdentity()
  return { identity, peerId: peerIdFromPrivateKey(libp2pKey(identity)) }
}

const input = (i: number): Uint8Array => encodeTensors({ x: { dtype: 'float32', dims: [2], data: new Uint8Array(new Float32Array([i, i + 0.5]).buffer) } })
const output = (i: number): Uint8Array => encodeTensors({ y: { dtype: 'float32', dims: [1], data: new Uint8Array(new Float32Array([i * 2]).buffer) } })

async function result (vol: Vol, jobId: Uint8Array, a: PullReply['assignments'][number]): Promise<ShardResult> {
  const out = output(a.shard)
  const attestation = await sealAsync('attestation', {
    jobId, shard: a.shard, inputHash: sha256(a.input), outputHash: sha256(out), provider: 'wasm', ortVersion: '1.0.0', threads: 1, ms: 1
  }, vol.identity, { seq: a.lease, ts: Date.now() })
  return { lease: a.lease, output: out, attestation, error: null }
}

const signal = new AbortController().signal

/** Posts a job of `shards` small inputs, one replica, no canaries; returns its id as hex and as bytes. */
async function postJob (requester: Requester, shards: number): Promise<{ jobId: string, job: Uint8Array }> {
  const jobId = await requester.post({
    title: 't',
    model: { id: 'digits', sha256: 'ab'.repeat(32) },
    inputs: Array.from({ length: shards }, (_, i) => input(i)),
    policy: { replicas: 1, quorum: 1, compare: { kind: 'exact' }, canaryRate: 0, deadline: Date.now() + 3_600_000 }
  })
  return { jobId, job: Uint8Array.from(Buffer.from(jobId, 'hex')) }
}

describe('the requester', () => {
  it('signs with a key it cannot read, logs verdicts in decision order, shows them once stored, and a reload brings back exactly that', async () => {
    const identity = (await generatePlatformIdentity())!
    expect(identity.seed).toBeUndefined()
    const dbName = `essaim-requester-${++db}`
    const first = await setup(identity, dbName)
    const shards = 6
    const { jobId, job } = await postJob(first.requester, shards)
    const vol = volunteer()
    // Verdicts written so far (the real store, counted), and what the job page could show at each update.
    let written = 0
    const put = first.store.putDecisions.bind(first.store)
    first.store.putDecisions = async batch => { await put(batch); written += batch.filter(d => d.kind === 'verdict').length }
    const seen: Array<{ verified: number, status: string, written: number }> = []
    first.requester.addEventListener('job:update', () => {
      const v = first.requester.view(jobId)
      if (v !== undefined) seen.push({ verified: v.verified, status: v.status, written })
    })

    const lease = await first.pull(vol.peerId, { job, capacity: shards, results: [] }, { signal })
    expect(lease.assignments).toHaveLength(shards)
    // Handed in out of shard order: the log keeps the order they were decided in.
    const order = [...lease.assignments].reverse()
    const handedIn = await Promise.all(order.map(async a => await result(vol, job, a)))
    const reply = await first.pull(vol.peerId, { job, capacity: 0, results: handedIn }, { signal })
    expect(reply.received.sort()).toEqual(lease.assignments.map(a => a.lease).sort())
    expect(reply.done).toBe(true)

    await first.requester.flushed()
    expect(first.requester.view(jobId)).toMatchObject({ verified: shards, status: 'done' })
    // Never more shown verified than stored, and done only with all of them stored.
    expect(seen.at(-1)).toEqual({ verified: shards, status: 'done', written: shards })
    for (const s of seen) {
      expect(s.verified).toBeLessThanOrEqual(s.written)
      if (s.status === 'done') expect(s.written).toBe(shards)
    }
    expect((await first.store.decided(jobId)).accepted.size).toBe(shards)
    const leaves = (await first.store.logLeaves()).map(l => (open(l, { kinds: ['verdict'] }) as { ok: true, envelope: Envelope<'verdict'> }).envelope.body.shard)
    expect(leaves).toEqual(order.map(a => a.shard))

    const bundle = await first.requester.receiptBundle(jobId)
    expect(bundle.receipts).toHaveLength(shards)
    const report = verifyBundle(bundle, 'test')
    expect(report.problems).toEqual([])
    expect(report.verified).toBe(true)
    expect(report.receipts.map(r => r.shard).sort()).toEqual([0, 1, 2, 3, 4, 5])

    // A reload (a new requester on the same profile) brings back exactly what was shown.
    const results = first.requester.results(jobId)
    first.requester.stop()
    const second = await setup(identity, dbName)
    expect(second.requester.view(jobId)).toMatchObject({ verified: shards, status: 'done' })
    expect(second.requester.results(jobId)).toEqual(results)
    const again = await second.requester.receiptBundle(jobId)
    expect(verifyBundle({ receipts: [...bundle.receipts, ...again.receipts], heads: [...bundle.heads, ...again.heads] }, 'test').problems).toEqual([])
  })

  it('serves the receipts crediting a key from a leaf on, also after a reload and for verdicts decided since', async () => {
    const identity = generateIdentity()
    const dbName = `essaim-requester-${++db}`
    const first = await setup(identity, dbName, { heard: true })
    const [a, b] = [volunteer(), volunteer()]
    /** Posts a job of 4 shards; `a` computes the first two and `b` the rest. */
    const run = async (s: Setup): Promise<void> => {
      const { job } = await postJob(s.requester, 4)
      for (const vol of [a, b]) {
        const lease = await s.pull(vol.peerId, { job, capacity: 2, results: [] }, { signal })
        await s.pull(vol.peerId, { job, capacity: 0, results: await Promise.all(lease.assignments.map(async x => await result(vol, job, x))) }, { signal })
      }
      await s.requester.flushed()
    }
    /** The leaves of the receipts served for `vol` from `from` on, each checked to verify and to credit it. */
    const served = async (s: Setup, vol: Vol, from: number): Promise<number[]> => {
      const receipts = await s.serveLog()(a.peerId, { credited: vol.identity.publicKey, from }, { signal })
      return receipts.map(bytes => {
        const v = verifyReceipt(bytes)
        if (!v.ok) throw new Error(v.reason)
        expect(v.verdict.body.credited.map(toHex)).toEqual([toHex(vol.identity.publicKey)])
        return v.index
      })
    }
    await run(first)
    // Once a head is signed over them (a short batching delay).
    await expect.poll(async () => (await served(first, a, 0)).length).toBe(2)
    const ofA = await served(first, a, 0)
    const ofB = await served(first, b, 0)
    expect([...ofA, ...ofB].sort()).toEqual([0, 1, 2, 3])
    expect(await served(first, a, ofA[1]!)).toEqual([ofA[1]])
    expect(await served(first, a, 4)).toEqual([])
    // Verdicts decided after the first such request are found too.
    await run(first)
    await expect.poll(async () => (await served(first, a, 4)).length).toBe(2)
    const laterB = await served(first, b, 4)
    expect(laterB).toHaveLength(2)
    // After a reload, from the stored log.
    first.requester.stop()
    const second = await setup(identity, dbName)
    expect(await served(second, b, 0)).toEqual([...ofB, ...laterB])
  })

  it('measures a job\'s throughput over its verdicts of the last minute', async () => {
    const t0 = Date.now()
    let now = t0
    const { requester, pull } = await setup(generateIdentity(), `essaim-requester-${++db}`, { now: () => now })
    const { jobId, job } = await postJob(requester, 6)
    const vol = volunteer()
    const lease = await pull(vol.peerId, { job, capacity: 6, results: [] }, { signal })
    const handIn = async (at: number, shards: Array<PullReply['assignments'][number]>): Promise<void> => {
      now = t0 + at
      await pull(vol.peerId, { job, capacity: 0, results: await Promise.all(shards.map(async a => await result(vol, job, a))) }, { signal })
      await requester.flushed()
    }
    await handIn(0, lease.assignments.slice(0, 2))
    await handIn(30_000, lease.assignments.slice(2, 4))
    expect(requester.view(jobId)?.throughput).toBe(3 / 30)
    // At 70 s the first two are out of the minute: 4 verdicts over the 40 s from 30 s to 70 s.
    await handIn(70_000, lease.assignments.slice(4, 5))
    expect(requester.view(jobId)?.throughput).toBe(2 / 40)
    now = t0 + 95_000
    expect(requester.view(jobId)?.throughput).toBe(0)
  })

  it('announces its head on its own once its log has grown, after the last receipts of a job too (an observer that missed them learns of them), repeats it a few times far apart (one that gave up tries again), then stays quiet', async () => {
    const identity = generateIdentity()
    const announceMs = 100
    const headRepeatMs = 600
    const { requester, pull, published } = await setup(identity, `essaim-requester-${++db}`, { announceMs, headRepeatMs, heard: true })
    const heads = (): Array<{ size: number, at: number }> => published.filter(p => p.topic === TOPIC_LOG).flatMap(p => {
      const o = open(p.data, { kinds: ['tree-head'] })
      return o.ok ? [{ size: (o.envelope as Envelope<'tree-head'>).body.size, at: p.at }] : []
    })
    const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
    // No log yet: nothing to announce.
    await sleep(4 * announceMs)
    expect(heads()).toEqual([])
    const { job } = await postJob(requester, 3)
    const vol = volunteer()
    const lease = await pull(vol.peerId, { job, capacity: 3, results: [] }, { signal })
    await pull(vol.peerId, { job, capacity: 0, results: await Promise.all(lease.assignments.map(async a => await result(vol, job, a))) }, { signal })
    await requester.flushed()
    // The job is done: its final head (3 verdicts) is announced on its own after its receipts…
    await expect.poll(() => heads().length, { timeout: 5_000 }).toBe(1)
    // …then HEAD_REPEATS times more, each at least headRepeatMs after the one before, then no more.
    await sleep((HEAD_REPEATS + 1) * headRepeatMs + 4 * announceMs)
    const seen = heads()
    expect(seen.map(h => h.size)).toEqual(Array(1 + HEAD_REPEATS).fill(3))
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at - seen[i - 1]!.at).toBeGreaterThanOrEqual(headRepeatMs - 20)
    await sleep(2 * headRepeatMs)
    expect(heads()).toHaveLength(1 + HEAD_REPEATS)
  })

  it('a job cancelled while its verdicts are still being written shows "cancelling" until they are stored, then "cancelled" with a count that stays', async () => {
    const identity = (await generatePlatformIdentity())!
    const { requester, store, pull } = await setup(identity, `essaim-requester-${++db}`)
    const { jobId, job } = await postJob(requester, 6)
    const vol = volunteer()
    // Writes of verdicts wait until released: the cancel comes while they are under way.
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const put = store.putDecisions.bind(store)
    store.putDecisions = async batch => { await gate; await put(batch) }
    const seen: Array<{ verified: number, status: string }> = []
    requester.addEventListener('job:update', () => {
      const v = requester.view(jobId)
      if (v !== undefined) seen.push({ verified: v.verified, status: v.status })
    })

    const lease = await pull(vol.peerId, { job, capacity: 6, results: [] }, { signal })
    const handedIn = await Promise.all(lease.assignments.slice(0, 3).map(async a => await result(vol, job, a)))
    await pull(vol.peerId, { job, capacity: 0, results: handedIn }, { signal })
    expect(requester.cancel(jobId)).toBe(true)
    expect(requester.view(jobId)).toMatchObject({ status: 'cancelling', verified: 0 })

    release()
    await requester.flushed()
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(requester.view(jobId)).toMatchObject({ status: 'cancelled', verified: 3 })
    // Shown "cancelled" only with its final count; "cancelling" before.
    expect(seen.some(s => s.status === 'cancelling')).toBe(true)
    for (const s of seen) if (s.status === 'cancelled') expect(s.verified).toBe(3)
    expect((await store.decided(jobId)).accepted.size).toBe(3)
  })

  it('takes a result only with its own valid attestation: forged, foreign, misdirected and missing ones are refused', async () => {
    const identity = (await generatePlatformIdentity())!
    const { requester, pull } = await setup(identity, `essaim-requester-${++db}`)
    const { jobId, job } = await postJob(requester, 5)
    const vol = volunteer()
    const lease = await pull(vol.peerId, { job, capacity: 5, results: [] }, { signal })
    const [good, forged, foreign, misdirected, missing] = await Promise.all(lease.assignments.map(async a => await result(vol, job, a)))
    const flip = (b: Uint8Array): Uint8Array => Uint8Array.from(b, (x, i) => i === b.length - 1 ? x ^ 1 : x)
    const handedIn = [
      good!,
      { ...forged!, attestation: flip(forged!.attestation!) },
      // Signed by someone else than the peer handing it in.
      { ...foreign!, attestation: (await result(volunteer(), job, lease.assignments[2]!)).attestation },
      // This volunteer's own attestation, of another shard.
      { ...misdirected!, attestation: good!.attestation },
      { ...missing!, attestation: null }
    ]
    await pull(vol.peerId, { job, capacity: 0, results: handedIn }, { signal })
    await requester.flushed()
    expect(requester.view(jobId)).toMatchObject({ verified: 1 })
    expect([...requester.results(jobId).keys()]).toEqual([lease.assignments[0]!.shard])
    requester.stop()
  })

  it('a delete that cannot be written keeps the job as it was and says why; once written, the job is gone for good', async () => {
    const identity = (await generatePlatformIdentity())!
    const dbName = `essaim-requester-${++db}`
    const { requester, store, pull } = await setup(identity, dbName)
    const { jobId, job } = await postJob(requester, 4)
    const vol = volunteer()
    const lease = await pull(vol.peerId, { job, capacity: 4, results: [] }, { signal })
    await pull(vol.peerId, { job, capacity: 0, results: await Promise.all(lease.assignments.slice(0, 2).map(async a => await result(vol, job, a))) }, { signal })
    requester.cancel(jobId)
    await requester.flushed()
    const results = requester.results(jobId)
    expect(results.size).toBe(2)

    const deleteJob = store.deleteJob.bind(store)
    store.deleteJob = async () => { throw new DOMException('the disk is full', 'QuotaExceededError') }
    await expect(requester.remove(jobId)).rejects.toThrow('the disk is full')
    expect(requester.view(jobId)).toMatchObject({ status: 'cancelled', verified: 2 })
    expect(requester.results(jobId)).toEqual(results)

    store.deleteJob = deleteJob
    expect(await requester.remove(jobId)).toBe(true)
    expect(requester.view(jobId)).toBeUndefined()
    requester.stop()
    const again = await setup(identity, dbName)
    expect(again.requester.view(jobId)).toBeUndefined()
  })
})
