/**
 * JobStore over IndexedDB (fake-indexeddb in Node): inputs read in one
 * transaction, verdicts written together with their outputs in one.
 */
import 'fake-indexeddb/auto'
import { describe, it, expect } from 'vitest'
import { JobStore } from '../../../src/store/job-store.ts'
import type { StoredJob, StoredOutput } from '../../../src/store/db.ts'

let n = 0
const fresh = (): JobStore => new JobStore(`essaim-job-store-${++n}`)

const job = (jobId: string): StoredJob => ({
  jobId, manifest: new Uint8Array([1]), title: 't', modelId: 'digits', canaries: [], meta: null, createdAt: 1, status: 'running'
})
const output = (shard: number, leaf: number): StoredOutput => ({
  output: new Uint8Array([shard]), outputHash: `h${shard}`, leaf, credited: ['a'], rejected: [], revision: 0
})

describe('JobStore', () => {
  it('reads several inputs in the order asked, undefined where one is missing', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([10]), new Uint8Array([11]), new Uint8Array([12])])
    expect(await store.inputs('j', [2, 0, 7, 1])).toEqual([new Uint8Array([12]), new Uint8Array([10]), undefined, new Uint8Array([11])])
    expect(await store.inputs('j', [])).toEqual([])
    expect(await store.inputs('other', [0])).toEqual([undefined])
  })

  it('stores a batch of verdicts with their outputs; the log keeps leaf order', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([0]), new Uint8Array([1]), new Uint8Array([2])])
    await store.putVerdict('j', 1, 0, new Uint8Array([100]), output(1, 0))
    await store.putVerdicts([
      { jobId: 'j', shard: 2, leaf: 1, verdict: new Uint8Array([101]), output: output(2, 1) },
      { jobId: 'j', shard: 0, leaf: 2, verdict: new Uint8Array([102]), output: output(0, 2) }
    ])
    await store.putVerdicts([])
    expect(await store.logLeaves()).toEqual([new Uint8Array([100]), new Uint8Array([101]), new Uint8Array([102])])
    const outputs = await store.outputs('j')
    expect([...outputs.keys()].sort()).toEqual([0, 1, 2])
    expect(outputs.get(2)).toEqual(output(2, 1))
  })

  it('writes a batch all or nothing: a bad entry leaves none of it stored', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([0])])
    const bad = { jobId: 'j', shard: 1, leaf: 1, verdict: new Uint8Array([1]), output: { ...output(1, 1), notCloneable: () => {} } as unknown as StoredOutput }
    await expect(store.putVerdicts([{ jobId: 'j', shard: 0, leaf: 0, verdict: new Uint8Array([0]), output: output(0, 0) }, bad])).rejects.toThrow()
    expect(await store.logLeaves()).toEqual([])
    expect((await store.outputs('j')).size).toBe(0)
  })
})
