import { describe, expect, it } from 'vitest'
import { ComputeClient, MAX_RESTARTS } from '../../../src/compute/client.ts'
import type { WorkerReply, WorkerRequest } from '../../../src/compute/protocol.ts'

/** A stand-in for the module Worker: records requests, lets the test answer them. */
class FakeWorker {
  sent: WorkerRequest[] = []
  terminated = false
  onmessage: ((e: MessageEvent<WorkerReply>) => void) | null = null
  onerror: ((e: ErrorEvent) => void) | null = null
  onmessageerror: (() => void) | null = null
  postMessage (msg: WorkerRequest): void { this.sent.push(msg) }
  terminate (): void { this.terminated = true }
  reply (msg: WorkerReply): void { this.onmessage?.({ data: msg } as MessageEvent<WorkerReply>) }
}

function setup (): { client: ComputeClient, worker: FakeWorker } {
  const worker = new FakeWorker()
  const client = new ComputeClient({ threads: 2, createWorker: () => worker as unknown as Worker })
  return { client, worker }
}

const ready = { provider: 'wasm' as const, reason: { code: 'no-webgpu' as const }, threads: 2, ortVersion: '1.30.0', inputs: [], outputs: [], ms: 5 }

describe('ComputeClient', () => {
  it('sends load with its settings, reports progress, resolves on ready', async () => {
    const { client, worker } = setup()
    const stages: string[] = []
    const p = client.load({ sha256: 'ab'.repeat(32), bytes: new Uint8Array([1]) }, { batchable: true, onProgress: s => stages.push(s) })
    const req = worker.sent[0]!
    expect(req).toMatchObject({ type: 'load', settings: { threads: 2, preferGpu: true }, batchable: true })
    worker.reply({ type: 'progress', id: req.id, stage: 'hash' })
    worker.reply({ type: 'ready', id: req.id, sha256: 'ab'.repeat(32), ...ready })
    expect(await p).toEqual({ sha256: 'ab'.repeat(32), ...ready })
    expect(stages).toEqual(['hash'])
  })

  it('prepare sends its settings and resolves with the runtime the worker started', async () => {
    const { client, worker } = setup()
    const p = client.prepare()
    const req = worker.sent[0]!
    expect(req).toMatchObject({ type: 'prepare', settings: { threads: 2, preferGpu: true } })
    worker.reply({ type: 'prepared', id: req.id, provider: 'wasm', reason: { code: 'no-webgpu' }, threads: 2, ortVersion: '1.30.0', ms: 40 })
    expect(await p).toEqual({ provider: 'wasm', reason: { code: 'no-webgpu' }, threads: 2, ortVersion: '1.30.0', ms: 40 })
    const failed = client.prepare()
    worker.reply({ type: 'error', id: worker.sent[1]!.id, error: { name: 'ProviderUnavailableError', message: 'no WebAssembly' } })
    await expect(failed).rejects.toMatchObject({ name: 'ProviderUnavailableError' })
  })

  it('turns error replies back into the named classes', async () => {
    const { client, worker } = setup()
    const p = client.run('ab'.repeat(32), new Uint8Array([0xa0]))
    worker.reply({ type: 'error', id: worker.sent[0]!.id, error: { name: 'InputShapeError', message: 'input x has dims [1]' } })
    await expect(p).rejects.toMatchObject({ name: 'InputShapeError', message: 'input x has dims [1]' })
  })

  it('an abort rejects at once with CancelledError, tells the worker, and ignores the late reply', async () => {
    const { client, worker } = setup()
    const controller = new AbortController()
    const p = client.run('ab'.repeat(32), new Uint8Array([0xa0]), { signal: controller.signal })
    const id = worker.sent[0]!.id
    controller.abort()
    await expect(p).rejects.toMatchObject({ name: 'CancelledError' })
    expect(worker.sent[1]).toEqual({ type: 'cancel', id })
    worker.reply({ type: 'result', id, output: new Uint8Array(), ms: 1, provider: 'wasm', threads: 2, ortVersion: '1.30.0', batched: 1 })
  })

  it('an already aborted signal never reaches the worker', async () => {
    const { client, worker } = setup()
    await expect(client.run('ab'.repeat(32), new Uint8Array(), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'CancelledError' })
    expect(worker.sent).toEqual([])
  })

  it('a crashed worker fails its pending requests; the next request starts a fresh worker, which answers', async () => {
    const workers: FakeWorker[] = []
    const client = new ComputeClient({ threads: 2, createWorker: () => { workers.push(new FakeWorker()); return workers.at(-1) as unknown as Worker } })
    const p = client.run('ab'.repeat(32), new Uint8Array())
    const q = client.prepare()
    workers[0]!.onerror?.({ message: 'boom' } as ErrorEvent)
    await expect(p).rejects.toMatchObject({ name: 'WorkerFailedError', message: 'compute worker failed: boom' })
    await expect(q).rejects.toMatchObject({ name: 'WorkerFailedError' })
    expect(workers[0]!.terminated).toBe(true)
    expect(workers).toHaveLength(1)
    // A late reply of the dead worker is ignored; the fresh one (no model loaded) answers the next request.
    const next = client.runShard('ab'.repeat(32), 'digits', new Uint8Array([1]))
    expect(workers).toHaveLength(2)
    workers[0]!.reply({ type: 'error', id: workers[1]!.sent[0]!.id, error: { name: 'InputShapeError', message: 'stale' } })
    workers[1]!.reply({ type: 'error', id: workers[1]!.sent[0]!.id, error: { name: 'ModelNotLoadedError', message: 'load it first' } })
    await expect(next).rejects.toMatchObject({ name: 'ModelNotLoadedError' })
  })

  it('a worker that keeps dying: after MAX_RESTARTS fresh workers the client fails for good', async () => {
    const workers: FakeWorker[] = []
    const client = new ComputeClient({ threads: 1, createWorker: () => { workers.push(new FakeWorker()); return workers.at(-1) as unknown as Worker } })
    for (let i = 0; i <= MAX_RESTARTS; i++) {
      const p = client.run('ab'.repeat(32), new Uint8Array())
      workers.at(-1)!.onmessageerror?.()
      await expect(p).rejects.toMatchObject({ name: 'WorkerFailedError' })
    }
    expect(workers).toHaveLength(MAX_RESTARTS + 1)
    await expect(client.run('ab'.repeat(32), new Uint8Array())).rejects.toMatchObject({ name: 'WorkerFailedError', message: /fresh workers before it/ })
    expect(workers).toHaveLength(MAX_RESTARTS + 1)
  })

  it('terminate fails pending requests and every later one, without a new worker', async () => {
    const workers: FakeWorker[] = []
    const client = new ComputeClient({ threads: 1, createWorker: () => { workers.push(new FakeWorker()); return workers.at(-1) as unknown as Worker } })
    const p = client.run('ab'.repeat(32), new Uint8Array())
    client.terminate()
    await expect(p).rejects.toMatchObject({ name: 'WorkerFailedError', message: 'compute worker terminated' })
    await expect(client.prepare()).rejects.toMatchObject({ name: 'WorkerFailedError' })
    expect(workers).toHaveLength(1)
    expect(workers[0]!.terminated).toBe(true)
  })
})
