/**
 * JobStore over IndexedDB (fake-indexeddb in Node): inputs read in one
 * transaction, verdicts written together with their outputs in one, a
 * re-verification that survives a reload, failed shards kept with the job.
 */
import 'fake-indexeddb/auto'
import { describe, it, expect } from 'vitest'
import { JobStore, type StoredDecision } from '../../../src/store/job-store.ts'
import { receiptKey, type StoredJob, type StoredOutput, type StoredReceipt } from '../../../src/store/db.ts'
import { generateIdentity } from '../../../src/core/identity.ts'
import { leafHash } from '../../../src/core/merkle.ts'
import { toHex } from '../../../src/core/bytes.ts'
import { TestRequester } from '../core/log-fixtures.ts'

let n = 0
const fresh = (): JobStore => new JobStore(`essaim-job-store-${++n}`)

const job = (jobId: string): StoredJob => ({
  jobId, manifest: new Uint8Array([1]), title: 't', modelId: 'digits', canaries: [], meta: null, createdAt: 1, status: 'running'
})
const output = (shard: number, leaf: number): StoredOutput => ({
  output: new Uint8Array([shard]), outputHash: `h${shard}`, leaf, credited: ['a'], rejected: [], revision: 0
})
const verdict = (shard: number, leaf: number): Extract<StoredDecision, { kind: 'verdict' }> =>
  ({ kind: 'verdict', jobId: 'j', shard, leaf, verdict: new Uint8Array([100 + leaf]), output: output(shard, leaf) })
const reopen = (shard: number, peer: string, revision: number): StoredDecision =>
  ({ kind: 'reopen', jobId: 'j', shard, output: { ...output(shard, 0), reverify: { revision, peer } } })

describe('JobStore', () => {
  it('reads several inputs in the order asked, undefined where one is missing', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([10]), new Uint8Array([11]), new Uint8Array([12])])
    expect(await store.inputs('j', [2, 0, 7, 1])).toEqual([new Uint8Array([12]), new Uint8Array([10]), undefined, new Uint8Array([11])])
    expect(await store.inputs('j', [])).toEqual([])
    expect(await store.inputs('other', [0])).toEqual([undefined])
  })

  it('keeps the failures of a job with it, one per shard, through a status change, until they are cleared', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([10])])
    await store.addFailures('j', [{ shard: 3, failure: { kind: 'given-up', times: 3, error: 'first' } }])
    await store.addFailures('j', [{ shard: 1, failure: { kind: 'no-quorum', replicas: 8 } }])
    await store.addFailures('j', [{ shard: 3, failure: { kind: 'given-up', times: 4, error: 'again' } }])
    await store.setStatus('j', 'done')
    await store.addFailures('missing', [{ shard: 0, failure: { kind: 'no-quorum', replicas: 2 } }])
    const [stored, ...others] = await store.jobs()
    expect(others).toEqual([])
    expect(stored).toMatchObject({ status: 'done', failures: [
      { shard: 1, failure: { kind: 'no-quorum', replicas: 8 } },
      { shard: 3, failure: { kind: 'given-up', times: 4, error: 'again' } }
    ] })
    await store.clearFailures('j', [3, 9])
    expect((await store.jobs())[0]!.failures).toEqual([{ shard: 1, failure: { kind: 'no-quorum', replicas: 8 } }])
    // Many in one write (a job reaching its deadline), one replacing an earlier failure.
    const late = [0, 1, 2].map(shard => ({ shard, failure: { kind: 'deadline' as const, at: 5 } }))
    await store.addFailures('j', late)
    expect((await store.jobs())[0]!.failures).toEqual(late)
  })

  it('deletes a job with its inputs and outputs, keeping the log and other jobs', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([10]), new Uint8Array([11])])
    await store.putJob(job('k'), [new Uint8Array([20])])
    await store.putDecisions([verdict(0, 0), { ...verdict(0, 1), jobId: 'k' }])
    await store.deleteJob('j')
    expect((await store.jobs()).map(j => j.jobId)).toEqual(['k'])
    expect(await store.inputs('j', [0, 1])).toEqual([undefined, undefined])
    expect((await store.outputs('j')).size).toBe(0)
    expect(await store.inputs('k', [0])).toEqual([new Uint8Array([20])])
    expect([...(await store.outputs('k')).keys()]).toEqual([0])
    expect(await store.logLeaves()).toEqual([new Uint8Array([100]), new Uint8Array([101])])
    await store.deleteJob('missing')
  })

  it('stores a batch of verdicts with their outputs; the log keeps leaf order', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([0]), new Uint8Array([1]), new Uint8Array([2])])
    await store.putDecisions([verdict(1, 0)])
    await store.putDecisions([verdict(2, 1), verdict(0, 2)])
    await store.putDecisions([])
    expect(await store.logLeaves()).toEqual([new Uint8Array([100]), new Uint8Array([101]), new Uint8Array([102])])
    const outputs = await store.outputs('j')
    expect([...outputs.keys()].sort()).toEqual([0, 1, 2])
    expect(outputs.get(2)).toEqual(output(2, 1))
  })

  it('writes a batch all or nothing: a bad entry leaves none of it stored', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([0])])
    const bad = { ...verdict(1, 1), output: { ...output(1, 1), notCloneable: () => {} } as unknown as StoredOutput }
    await expect(store.putDecisions([verdict(0, 0), bad])).rejects.toThrow()
    expect(await store.logLeaves()).toEqual([])
    expect((await store.outputs('j')).size).toBe(0)
  })

  it('keeps a reopened shard under re-verification across a reload, until a new verdict decides it', async () => {
    const name = `essaim-job-store-${++n}`
    let store = new JobStore(name)
    await store.putJob(job('j'), [new Uint8Array([0]), new Uint8Array([1])])
    await store.putDecisions([verdict(0, 0), verdict(1, 1)])
    await store.putDecisions([reopen(1, 'X', 1)])
    // The tab reloads: a new connection reads what was stored.
    store = new JobStore(name)
    let decided = await store.decided('j')
    expect([...decided.accepted.keys()]).toEqual([0])
    expect(decided.reverifying).toEqual(new Map([[1, { revision: 1, peer: 'X' }]]))
    // The old verdict stays in the log; the re-verification's verdict is appended and replaces the row.
    await store.putDecisions([{ ...verdict(1, 2), output: { ...output(1, 2), outputHash: 'h1-new', revision: 1 } }])
    decided = await new JobStore(name).decided('j')
    expect(decided.reverifying.size).toBe(0)
    expect(decided.accepted.get(1)).toMatchObject({ outputHash: 'h1-new', leaf: 2, revision: 1 })
    expect(await store.logLeaves()).toHaveLength(3)
  })

  it('keeps the order of a verdict and a reopen of one shard written in one batch', async () => {
    const store = fresh()
    await store.putJob(job('j'), [new Uint8Array([0])])
    await store.putDecisions([verdict(0, 0), reopen(0, 'X', 1)])
    expect((await store.decided('j')).reverifying.get(0)).toEqual({ revision: 1, peer: 'X' })
    await store.putDecisions([reopen(0, 'Y', 2), { ...verdict(0, 1), output: { ...output(0, 1), revision: 2 } }])
    const decided = await store.decided('j')
    expect(decided.reverifying.size).toBe(0)
    expect(decided.accepted.get(0)).toMatchObject({ leaf: 1, revision: 2 })
  })

  it('refuses a reopen without its mark (programmer error)', async () => {
    const store = fresh()
    const unmarked = { kind: 'reopen', jobId: 'j', shard: 0, output: output(0, 0) } as unknown as StoredDecision
    await expect(store.putDecisions([unmarked])).rejects.toThrow(TypeError)
  })

  it('keeps receipts by their verdict\'s leaf, whose keys say which verdicts are held without reading a receipt', async () => {
    const requester = new TestRequester(generateIdentity())
    for (let shard = 0; shard < 3; shard++) requester.verdict(shard, [])
    requester.head()
    const stored = (shard: number, at: number): StoredReceipt =>
      ({ receipt: requester.receipt(shard), requester: 'r', jobId: 'j', shard, receivedAt: at })
    const store = fresh()
    const entries = [stored(2, 5), stored(0, 7)]
    await store.putReceipts(entries.map(r => [receiptKey(r.receipt), r]))
    const leaves = [2, 0].map(i => toHex(leafHash(requester.verdicts[i]!)))
    expect(entries.map(r => receiptKey(r.receipt))).toEqual(leaves)
    expect((await store.receiptKeys()).sort()).toEqual([...leaves].sort())
    expect(await store.receipts()).toEqual([[leaves[0], entries[0]], [leaves[1], entries[1]]])
  })

  it('a profile from before receipts were kept by leaf (database version 3) keeps each verdict\'s first receipt, under its leaf', async () => {
    const requester = new TestRequester(generateIdentity())
    for (let shard = 0; shard < 2; shard++) requester.verdict(shard, [])
    requester.head()
    const first = requester.receipt(0)
    requester.verdict(2, [])
    requester.head()
    // Shard 0's verdict proven again against the later head, received later: the first one stays.
    const again = requester.receipt(0)
    const rows: Array<[string, StoredReceipt]> = [
      ['id-a', { receipt: again, requester: 'r', jobId: 'j', shard: 0, receivedAt: 9 }],
      ['id-b', { receipt: first, requester: 'r', jobId: 'j', shard: 0, receivedAt: 3 }],
      ['id-c', { receipt: requester.receipt(1), requester: 'r', jobId: 'j', shard: 1, receivedAt: 4 }]
    ]
    const name = `essaim-job-store-${++n}`
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(name, 3)
      req.onupgradeneeded = () => {
        for (const store of ['identity', 'models', 'kv', 'jobs', 'inputs', 'outputs', 'log', 'receipts']) req.result.createObjectStore(store)
        req.transaction!.objectStore('models').createIndex('by-size', 'size')
        for (const [id, row] of rows) req.transaction!.objectStore('receipts').put(row, id)
      }
      req.onsuccess = () => { req.result.close(); resolve() }
      req.onerror = () => { reject(req.error) }
    })
    const store = new JobStore(name)
    const leaf = (i: number): string => toHex(leafHash(requester.verdicts[i]!))
    expect((await store.receiptKeys()).sort()).toEqual([leaf(0), leaf(1)].sort())
    expect(await store.receipts()).toEqual([[leaf(0), rows[1]![1]], [leaf(1), rows[2]![1]]])
  })
})
