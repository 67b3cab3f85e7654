/**
 * The Volunteer runtime on a real, started libp2p node (the app's own
 * configuration, src/net/node.ts, with no relay: nobody to reach) and the
 * real ComputeClient over a scripted worker, as in client.test.ts. What it
 * holds the Volunteer to without a swarm: the power gate decides when it may
 * compute and what status the user sees ("paused" only while the gate is
 * shut, never flickering while it is open), the worker's runtime is started
 * once the gate opens and not before (a phone on battery pays for nothing),
 * and receipts are kept only when they credit this peer, once per verdict.
 * Jobs, pulls and shards need a requester over a direct WebRTC connection:
 * the e2e suite covers them in Chromium.
 */
import '../../../scripts/node22-polyfills.ts'
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { logger } from '@libp2p/logger'
import { generateIdentity, type Identity } from '../../../src/core/identity.ts'
import { Ledger } from '../../../src/core/ledger.ts'
import { toHex } from '../../../src/core/bytes.ts'
import { createEssaimNode } from '../../../src/net/node.ts'
import { presence } from '../../../src/net/presence.ts'
import { ComputeClient } from '../../../src/compute/client.ts'
import { bundledCatalog } from '../../../src/compute/bundled-catalog.ts'
import type { WorkerReply, WorkerRequest } from '../../../src/compute/protocol.ts'
import { JobStore } from '../../../src/store/job-store.ts'
import { Volunteer, type ComputeGate, type VolunteerInit, type VolunteerStatus } from '../../../src/swarm/volunteer.ts'
import { TestRequester } from '../core/log-fixtures.ts'
import { until } from '../until.ts'

/** A stand-in for the module Worker that answers `prepare` as told and records every request. */
class ScriptedWorker {
  sent: WorkerRequest[] = []
  onmessage: ((e: MessageEvent<WorkerReply>) => void) | null = null
  onerror: ((e: ErrorEvent) => void) | null = null
  onmessageerror: (() => void) | null = null
  constructor (private readonly prepareFails = false) {}
  postMessage (msg: WorkerRequest): void {
    this.sent.push(msg)
    if (msg.type !== 'prepare') return
    const reply: WorkerReply = this.prepareFails
      ? { type: 'error', id: msg.id, error: { name: 'ProviderUnavailableError', message: 'no WebAssembly here' } }
      : { type: 'prepared', id: msg.id, provider: 'wasm', reason: { code: 'no-webgpu' }, threads: 1, ortVersion: '1.30.0', ms: 3 }
    queueMicrotask(() => { this.onmessage?.({ data: reply } as MessageEvent<WorkerReply>) })
  }

  terminate (): void {}
  prepares (): number { return this.sent.filter(m => m.type === 'prepare').length }
}

/** A power gate the test opens and shuts (the real one, src/swarm/power-gate.ts, has its own tests). */
class Gate implements ComputeGate {
  state = { compute: false }
  private waiters: Array<() => void> = []
  open (): void { this.state.compute = true; this.waiters.splice(0).forEach(w => { w() }) }
  shut (): void { this.state.compute = false }
  async waitUntilAllowed (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.state.compute) return
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { reject(options.signal?.reason) }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(() => { options.signal?.removeEventListener('abort', onAbort); resolve() })
    })
  }

  restAfter (): number { return 0 }
}

let db = 0
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

interface Setup { volunteer: Volunteer, init: VolunteerInit, worker: ScriptedWorker, gate: Gate, identity: Identity, store: JobStore, statuses: VolunteerStatus[] }

async function setup (options: { prepareFails?: boolean, ledger?: Ledger } = {}): Promise<Setup> {
  const identity = generateIdentity()
  const node = await createEssaimNode({
    identity,
    relays: [],
    allowPrivateAddresses: true,
    services: { presence: presence({ identity, describe: () => ({ provider: 'wasm', threads: 1, models: [], app: 'test' }) }) }
  })
  cleanups.push(async () => { await node.stop() })
  const worker = new ScriptedWorker(options.prepareFails)
  const client = new ComputeClient({ threads: 1, createWorker: () => worker as unknown as Worker })
  const unreachable = async (): Promise<never> => { throw new Error('no model is loaded in these tests') }
  const gate = new Gate()
  const store = new JobStore(`essaim-volunteer-test-${++db}`)
  const init: VolunteerInit = {
    peer: { node, identity, loadModel: unreachable, loadForeignModel: unreachable },
    store,
    ledger: options.ledger ?? new Ledger(),
    catalog: bundledCatalog(),
    client,
    gate,
    log: logger('essaim:test:volunteer')
  }
  const volunteer = new Volunteer(init)
  const statuses: VolunteerStatus[] = []
  volunteer.addEventListener('volunteer:change', () => {
    if (JSON.stringify(statuses.at(-1)) !== JSON.stringify(volunteer.status)) statuses.push(volunteer.status)
  })
  await volunteer.start()
  cleanups.push(async () => { await volunteer.stop() })
  return { volunteer, init, worker, gate, identity, store, statuses }
}


const waitingFor = (v: Volunteer): string | undefined => v.status.kind === 'waiting' ? v.status.reason.code : undefined
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('Volunteer and the power gate', () => {
  it('shows "paused" while the gate is shut and starts nothing; once it opens, starts the runtime once and waits for a job', async () => {
    const { volunteer, worker, gate, statuses } = await setup()
    expect(volunteer.status).toEqual({ kind: 'stopped' })
    volunteer.contribute()
    await until('paused', () => waitingFor(volunteer) === 'paused')
    await sleep(1_200)
    expect(waitingFor(volunteer)).toBe('paused')
    expect(worker.prepares()).toBe(0)

    gate.open()
    await until('no job', () => waitingFor(volunteer) === 'no-job')
    await until('the runtime asked for', () => worker.prepares() === 1)
    // Two looks for work (one a second) with the gate open: no flicker into "paused".
    const seen = statuses.length
    await sleep(2_300)
    expect(statuses.slice(seen)).toEqual([])
    expect(waitingFor(volunteer)).toBe('no-job')

    gate.shut()
    await until('paused again', () => waitingFor(volunteer) === 'paused')
    gate.open()
    await until('no job again', () => waitingFor(volunteer) === 'no-job')
    expect(worker.prepares()).toBe(1)
    expect(worker.sent.map(m => m.type)).toEqual(['prepare'])
    expect(volunteer.lastError).toBeUndefined()

    await volunteer.pause()
    expect(volunteer.status).toEqual({ kind: 'stopped' })
    expect(volunteer.contributing).toBe(false)
    expect(statuses.map(s => s.kind === 'waiting' ? s.reason.code : s.kind)).toEqual(['paused', 'no-job', 'paused', 'no-job', 'stopped'])
  })

  it('a runtime that fails to start is only logged: the volunteer goes on waiting for work, and does not ask again', async () => {
    const { volunteer, worker, gate } = await setup({ prepareFails: true })
    gate.open()
    volunteer.contribute()
    await until('no job', () => waitingFor(volunteer) === 'no-job')
    await until('the runtime asked for', () => worker.prepares() === 1)
    await sleep(1_200)
    expect(worker.prepares()).toBe(1)
    expect(volunteer.lastError).toBeUndefined()
    expect(volunteer.contributing).toBe(true)
  })

  it('a compute worker gone for good: the volunteer says so, with what the worker said, instead of retrying work it cannot compute', async () => {
    const { volunteer, init, gate, statuses } = await setup()
    // As a worker that died once too often leaves the client (compute/client.ts): it runs nothing more.
    init.client.terminate()
    gate.open()
    volunteer.contribute()
    await until('worker-failed', () => waitingFor(volunteer) === 'worker-failed')
    const status = volunteer.status
    expect(status.kind === 'waiting' && status.reason.code === 'worker-failed' && status.reason.error).toMatchObject({ name: 'WorkerFailedError', message: 'compute worker terminated' })
    // Past IDLE_WAIT_MS the loop has looked again: still saying so, and it never loaded or computed anything.
    await sleep(1_200)
    expect(waitingFor(volunteer)).toBe('worker-failed')
    expect(statuses.map(s => s.kind === 'waiting' ? s.reason.code : s.kind).filter(k => !['stopped', 'paused', 'worker-failed'].includes(k))).toEqual([])
  })

  it('stopping while paused ends the wait at once', async () => {
    const { volunteer, worker } = await setup()
    volunteer.contribute()
    await until('paused', () => waitingFor(volunteer) === 'paused')
    const started = Date.now()
    await volunteer.pause()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(volunteer.status).toEqual({ kind: 'stopped' })
    expect(worker.prepares()).toBe(0)
  })
})

describe('Volunteer receipts', () => {
  it('keeps and stores a receipt that credits it, once per verdict; one that does not goes only to the ledger', async () => {
    const { volunteer, identity, store } = await setup()
    const other = generateIdentity()
    const requester = new TestRequester(generateIdentity())
    requester.verdict(0, [identity, other])
    requester.verdict(1, [other])
    requester.head()
    const mine = requester.receipt(0)
    const heads: number[] = []
    volunteer.addEventListener('log:head', evt => { heads.push(evt.detail.size) })

    await volunteer.takeReceipt(requester.receipt(1))
    expect(await volunteer.myReceipts()).toEqual([])
    expect(heads).toEqual([2])

    await volunteer.takeReceipt(mine)
    // The same verdict proven again (another receipt, a later head): still one credit.
    requester.verdict(2, [other])
    requester.head()
    await volunteer.takeReceipt(requester.receipt(0))
    await volunteer.takeReceipt(mine)
    expect(volunteer.credit).toBe(1)
    expect(await volunteer.myReceipts()).toEqual([mine])
    expect((await store.receipts()).map(([, r]) => r.receipt)).toEqual([mine])
  })

  it('keeps a receipt that credits it when the public ledger is full for that requester (a long-lived requester\'s log outgrows the bound)', async () => {
    const ledger = new Ledger({ limits: { receiptsPerRequester: 2 } })
    const { volunteer, identity, store } = await setup({ ledger })
    const other = generateIdentity()
    const requester = new TestRequester(generateIdentity())
    for (let shard = 0; shard < 4; shard++) requester.verdict(shard, [shard === 3 ? identity : other])
    requester.head()
    for (let shard = 0; shard < 4; shard++) await volunteer.takeReceipt(requester.receipt(shard))
    expect(volunteer.credit).toBe(1)
    expect((await store.receipts()).map(([, r]) => r.shard)).toEqual([3])
    // The ledger kept its bound and counted what it could not keep.
    expect(ledger.snapshot().totals.verdicts).toBe(2)
    expect(ledger.snapshot().totals.dropped).toBe(2)
    // A receipt that does not verify is still refused outright.
    const forged = requester.receipt(3)
    forged[forged.length - 3]! ^= 1
    await volunteer.takeReceipt(forged)
    expect(volunteer.credit).toBe(1)
  })

  it('stores the receipts that come in one turn in one transaction, and says so when they could not be stored', async () => {
    const { volunteer, identity, store } = await setup()
    const requester = new TestRequester(generateIdentity())
    for (let shard = 0; shard < 3; shard++) requester.verdict(shard, [identity])
    requester.head()
    const writes = vi.spyOn(store, 'putReceipts')
    const receipts = [0, 1, 2].map(shard => requester.receipt(shard))
    await Promise.all(receipts.map(async receipt => { await volunteer.takeReceipt(receipt) }))
    expect(writes).toHaveBeenCalledTimes(1)
    expect((await store.receipts()).map(([, r]) => r.shard).sort()).toEqual([0, 1, 2])
    // The next turn's receipt goes in a transaction of its own.
    requester.verdict(3, [identity])
    requester.head()
    writes.mockRejectedValueOnce(Object.assign(new Error('disk full'), { name: 'StoreQuotaError' }))
    receipts.push(requester.receipt(3))
    await volunteer.takeReceipt(receipts[3]!)
    expect(writes).toHaveBeenCalledTimes(2)
    expect(volunteer.lastError).toMatchObject({ code: 'receipt-not-stored', error: { name: 'StoreQuotaError' } })
    expect(volunteer.credit).toBe(4)
    // The one not stored is still exported (it is held in memory until stored), with the three stored, once each.
    const hexes = (list: Uint8Array[]): string[] => list.map(toHex).sort()
    expect(hexes(await volunteer.myReceipts())).toEqual(hexes(receipts))
  })

  it('refuses a receipt whose bytes were tampered with, and keeps nothing', async () => {
    const { volunteer, identity, store } = await setup()
    const requester = new TestRequester(generateIdentity())
    requester.verdict(0, [identity])
    requester.head()
    const receipt = requester.receipt(0)
    for (const i of [0, 40, receipt.length - 1]) {
      const bad = receipt.slice()
      bad[i]! ^= 1
      await volunteer.takeReceipt(bad)
    }
    await volunteer.takeReceipt(new Uint8Array([0xff, 0x00]))
    expect(volunteer.credit).toBe(0)
    expect(await store.receipts()).toEqual([])
    await volunteer.takeReceipt(receipt)
    expect(volunteer.credit).toBe(1)
  })

  it('a new session starts with the receipts already stored, and does not keep one of them twice', async () => {
    const first = await setup()
    const requester = new TestRequester(generateIdentity())
    requester.verdict(0, [first.identity])
    requester.head()
    const receipt = requester.receipt(0)
    await first.volunteer.takeReceipt(receipt)
    const again = new Volunteer({ ...first.init, ledger: new Ledger() })
    await again.start()
    cleanups.push(async () => { await again.stop() })
    expect(again.credit).toBe(1)
    await again.takeReceipt(receipt)
    expect(again.credit).toBe(1)
  })
})
