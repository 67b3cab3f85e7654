/**
 * What survives a reload (issue "Jobs end to end", item 6): the requester's
 * jobs (signed manifest, inputs, canary answers), every accepted output
 * (marked while it is re-verified), and its transparency log; the
 * volunteer's receipts. Writes that belong
 * together go in one transaction, so a reload never sees half a verdict.
 * Quota failures surface as {@link StoreQuotaError}, never swallowed.
 */
import type { IDBPDatabase } from 'idb'
import type { Reverifying } from '../core/scheduler-types.ts'
import { openEssaimDB, DB_NAME, type EssaimDB, type StoredFailure, type StoredJob, type StoredOutput, type StoredReceipt } from './db.ts'

/** The browser refused to store more: the origin's storage quota is exhausted. */
export class StoreQuotaError extends Error {
  override readonly name = 'StoreQuotaError' as const
  constructor (what: string, options?: ErrorOptions) {
    super(`no room to store ${what}: the browser's storage quota for this site is exhausted (free some space or remove old jobs)`, options)
  }
}

function isQuotaError (err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED'
}

/**
 * One decision of the requester, as written: a verdict with the output it
 * accepted, or an accepted output reopened for re-verification (the row as
 * it was, with its `reverify` mark set).
 */
export type StoredDecision =
  | { kind: 'verdict', jobId: string, shard: number, leaf: number, verdict: Uint8Array, output: StoredOutput }
  | { kind: 'reopen', jobId: string, shard: number, output: StoredOutput & { reverify: Reverifying } }

export class JobStore {
  private db: Promise<IDBPDatabase<EssaimDB>> | undefined

  constructor (private readonly dbName = DB_NAME) {}

  private async open (): Promise<IDBPDatabase<EssaimDB>> {
    this.db ??= openEssaimDB(this.dbName)
    return await this.db
  }

  private async write<T> (what: string, fn: (db: IDBPDatabase<EssaimDB>) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.open())
    } catch (err) {
      if (isQuotaError(err)) throw new StoreQuotaError(what, { cause: err })
      throw err
    }
  }

  /**
   * Stores a new job and all its inputs in one transaction.
   * @throws {StoreQuotaError}
   */
  async putJob (job: StoredJob, inputs: readonly Uint8Array[]): Promise<void> {
    await this.write(`job ${job.title}`, async db => {
      const tx = db.transaction(['jobs', 'inputs'], 'readwrite')
      const puts: Array<Promise<unknown>> = [tx.objectStore('jobs').put(job, job.jobId)]
      inputs.forEach((input, shard) => { puts.push(tx.objectStore('inputs').put(input, [job.jobId, shard])) })
      await Promise.all([...puts, tx.done])
    })
  }

  async setStatus (jobId: string, status: StoredJob['status']): Promise<void> {
    await this.updateJob(jobId, 'job status', job => ({ ...job, status }))
  }

  /**
   * Deletes a job with its inputs and outputs, in one transaction. Its
   * verdicts stay in the log: the log is append-only, and the receipts
   * volunteers hold must keep their proofs.
   */
  async deleteJob (jobId: string): Promise<void> {
    await this.write(`deleting job ${jobId.slice(0, 12)}`, async db => {
      const tx = db.transaction(['jobs', 'inputs', 'outputs'], 'readwrite')
      const range = IDBKeyRange.bound([jobId, 0], [jobId, Number.MAX_SAFE_INTEGER])
      await Promise.all([tx.objectStore('jobs').delete(jobId), tx.objectStore('inputs').delete(range), tx.objectStore('outputs').delete(range), tx.done])
    })
  }

  /** Forgets the failures of these shards (they are tried again). */
  async clearFailures (jobId: string, shards: readonly number[]): Promise<void> {
    const cleared = new Set(shards)
    await this.updateJob(jobId, 'clearing failures', job => ({ ...job, failures: (job.failures ?? []).filter(f => !cleared.has(f.shard)) }))
  }

  /** Records that shards of a job failed, in one write (kept with the job, shown after a reload); a shard's new failure replaces its old one. */
  async addFailures (jobId: string, failures: readonly StoredFailure[]): Promise<void> {
    const shards = new Set(failures.map(f => f.shard))
    const what = failures.length === 1 ? `the failure of shard ${failures[0]!.shard}` : `the failures of ${failures.length} shards`
    await this.updateJob(jobId, what, job =>
      ({ ...job, failures: [...(job.failures ?? []).filter(f => !shards.has(f.shard)), ...failures] }))
  }

  /** Rewrites a stored job's row in one transaction (nothing if there is no such job). */
  private async updateJob (jobId: string, what: string, change: (job: StoredJob) => StoredJob): Promise<void> {
    await this.write(what, async db => {
      const tx = db.transaction('jobs', 'readwrite')
      const job = await tx.store.get(jobId)
      if (job !== undefined) await tx.store.put(change(job), jobId)
      await tx.done
    })
  }

  async jobs (): Promise<StoredJob[]> {
    const all = await (await this.open()).getAll('jobs')
    return all.sort((a, b) => a.createdAt - b.createdAt)
  }

  async input (jobId: string, shard: number): Promise<Uint8Array | undefined> {
    return await (await this.open()).get('inputs', [jobId, shard])
  }

  /** Inputs of several shards in one transaction (undefined where one is missing). */
  async inputs (jobId: string, shards: readonly number[]): Promise<Array<Uint8Array | undefined>> {
    const tx = (await this.open()).transaction('inputs', 'readonly')
    const [values] = await Promise.all([Promise.all(shards.map(async shard => await tx.store.get([jobId, shard]))), tx.done])
    return values
  }

  /**
   * Decisions in one transaction, in order: all are stored or none. A
   * verdict appends its log leaf and stores the output it accepted; a reopen
   * marks an accepted output as under re-verification (rewriting the row the
   * requester holds, so no read is needed and a verdict and a reopen of one
   * shard in one batch keep their order).
   * @throws {StoreQuotaError}
   * @throws {TypeError} a reopen whose output carries no `reverify` mark (programmer error).
   */
  async putDecisions (decisions: readonly StoredDecision[]): Promise<void> {
    if (decisions.length === 0) return
    for (const d of decisions) if (d.kind === 'reopen' && d.output.reverify === undefined) throw new TypeError(`reopen of shard ${d.shard} without a reverify mark`)
    const verdicts = decisions.filter(d => d.kind === 'verdict')
    const what = verdicts.length === 1 && decisions.length === 1
      ? `the verdict on shard ${verdicts[0]!.shard}`
      : `${verdicts.length} verdicts and ${decisions.length - verdicts.length} reopened shards`
    await this.write(what, async db => {
      const tx = db.transaction(['log', 'outputs'], 'readwrite')
      const puts: Array<Promise<unknown>> = []
      try {
        for (const d of decisions) {
          if (d.kind === 'verdict') puts.push(tx.objectStore('log').put(d.verdict, d.leaf))
          puts.push(tx.objectStore('outputs').put(d.output, [d.jobId, d.shard]))
        }
      } catch (err) {
        // A put that throws (e.g. a value that cannot be cloned) does not abort the
        // transaction by itself: without this the puts before it would commit.
        for (const p of [...puts, tx.done]) p.catch(() => {})
        tx.abort()
        throw err
      }
      await Promise.all([...puts, tx.done])
    })
  }

  /** Every stored output row of a job (accepted or under re-verification), by shard. */
  async outputs (jobId: string): Promise<Map<number, StoredOutput>> {
    const db = await this.open()
    const range = IDBKeyRange.bound([jobId, 0], [jobId, Number.MAX_SAFE_INTEGER])
    const [keys, values] = await Promise.all([db.getAllKeys('outputs', range), db.getAll('outputs', range)])
    return new Map(keys.map((k, i) => [k[1], values[i]!]))
  }

  /**
   * What a restored requester needs of a job's decisions: its accepted
   * outputs, and the shards reopened for re-verification and not decided
   * since (never results: their old answer is under doubt).
   */
  async decided (jobId: string): Promise<{ accepted: Map<number, StoredOutput>, reverifying: Map<number, Reverifying> }> {
    const accepted = new Map<number, StoredOutput>()
    const reverifying = new Map<number, Reverifying>()
    for (const [shard, row] of await this.outputs(jobId)) {
      if (row.reverify !== undefined) reverifying.set(shard, row.reverify)
      else accepted.set(shard, row)
    }
    return { accepted, reverifying }
  }

  /** The whole log, in leaf order. */
  async logLeaves (): Promise<Uint8Array[]> {
    return await (await this.open()).getAll('log')
  }

  /**
   * Stores receipts, each under its {@link receiptKey}, in one transaction.
   * @throws {StoreQuotaError}
   */
  async putReceipts (receipts: ReadonlyArray<readonly [string, StoredReceipt]>): Promise<void> {
    await this.write(receipts.length === 1 ? 'a receipt' : `${receipts.length} receipts`, async db => {
      const tx = db.transaction('receipts', 'readwrite')
      await Promise.all([...receipts.map(async ([id, receipt]) => await tx.store.put(receipt, id)), tx.done])
    })
  }

  /** The key of every stored receipt: its verdict's leaf hash hex. Reads no receipt. */
  async receiptKeys (): Promise<string[]> {
    return await (await this.open()).getAllKeys('receipts')
  }

  /** Every stored receipt with its key, oldest first. */
  async receipts (): Promise<Array<[string, StoredReceipt]>> {
    const tx = (await this.open()).transaction('receipts')
    // One transaction: the keys and the values in the same (key) order.
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done])
    return keys.map((key, i): [string, StoredReceipt] => [key, values[i]!]).sort((a, b) => a[1].receivedAt - b[1].receivedAt)
  }

  async getKv<T> (key: string): Promise<T | undefined> {
    return await (await this.open()).get('kv', key) as T | undefined
  }

  async setKv (key: string, value: unknown): Promise<void> {
    await this.write(key, async db => { await db.put('kv', value, key) })
  }
}
