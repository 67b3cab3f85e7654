import { describe, expect, it } from 'vitest'
import { ComputeClient } from '../../../src/compute/client.ts'
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

  it('a crashed worker fails every pending request and every later one', async () => {
    const { client, worker } = setup()
    const p = client.run('ab'.repeat(32), new Uint8Array())
    worker.onerror?.({ message: 'boom' } as ErrorEvent)
    await expect(p).rejects.toMatchObject({ name: 'WorkerFailedError', message: 'compute worker failed: boom' })
    await expect(client.run('ab'.repeat(32), new Uint8Array())).rejects.toMatchObject({ name: 'WorkerFailedError' })
  })
})
