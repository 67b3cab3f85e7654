/**
 * The one IndexedDB database of an Essaim browser profile, through idb.
 * The schema is a type parameter, so store names and value shapes are
 * checked by the compiler. Migrations are numbered: each version's step runs
 * once, in order, when an older database is opened. Add a store by adding a
 * migration and bumping DB_VERSION; never edit a released step.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import type { Reverifying, ShardFailure } from '../core/scheduler-types.ts'
import { receiptLeaf } from '../core/receipt.ts'
import { sha256, toHex } from '../core/bytes.ts'

export const DB_NAME = 'essaim'

export interface EssaimDB extends DBSchema {
  /** This profile's signing key (key 'self'). Never leaves the device. */
  identity: { key: string, value: StoredIdentity }
  /** Verified model bytes by sha256 hex; `by-size` lists them with their sizes without reading the bytes. */
  models: { key: string, value: { bytes: Uint8Array, size: number, storedAt: number }, indexes: { 'by-size': number } }
  /** Small settings and state by name. */
  kv: { key: string, value: unknown }
  /** Requester: jobs this profile posted, by job id hex. */
  jobs: { key: string, value: StoredJob }
  /** Requester: shard inputs (`encodeTensors` bytes), by [job id hex, shard]. */
  inputs: { key: [string, number], value: Uint8Array }
  /** Requester: accepted outputs, by [job id hex, shard]. */
  outputs: { key: [string, number], value: StoredOutput }
  /** Requester: this profile's transparency log, verdict envelope bytes by leaf index. */
  log: { key: number, value: Uint8Array }
  /**
   * Volunteer: receipts this profile earned, one per verdict, by the
   * verdict's leaf hash hex ({@link receiptKey}): the keys alone say which
   * verdicts it holds (until version 4, by the receipt's id).
   */
  receipts: { key: string, value: StoredReceipt }
}

/**
 * The profile's key: a non-extractable CryptoKey with its public key where
 * the browser has native Ed25519, else its seed. Profiles made before keys
 * were held by the browser have a seed, which the first load moves into a key.
 */
export type StoredIdentity =
  | { key: CryptoKey, publicKey: Uint8Array, createdAt: number }
  | { seed: Uint8Array, createdAt: number }

/** A posted job as the requester keeps it. */
export interface StoredJob {
  jobId: string
  /** The signed manifest envelope. */
  manifest: Uint8Array
  title: string
  modelId: string
  /** Known answers of the canary shards (computed by the requester before posting). */
  canaries: Array<{ shard: number, output: Uint8Array }>
  /** Free-form description of the inputs for previews (file names, processing). */
  meta: unknown
  createdAt: number
  status: 'running' | 'done' | 'failed' | 'cancelled'
  /** Shards that failed (absent in rows written before failures were kept). */
  failures?: StoredFailure[]
}

/** A shard no verdict was possible for, and why. */
export interface StoredFailure { shard: number, failure: ShardFailure }

export interface StoredOutput {
  output: Uint8Array
  outputHash: string
  /** Leaf index of the verdict that accepted it. */
  leaf: number
  credited: string[]
  rejected: string[]
  revision: number
  /**
   * Set while the accepted output above is reopened for re-verification (a
   * peer credited for it failed a canary or was outvoted): it is no longer
   * a result, and a restored requester re-verifies the shard; the verdict
   * that decides it again overwrites this row. Absent in rows stored before
   * re-verification was durable, which are plain accepted outputs.
   */
  reverify?: Reverifying
}

export interface StoredReceipt {
  receipt: Uint8Array
  requester: string
  jobId: string
  shard: number
  receivedAt: number
}

/** The key a receipt is stored under: its verdict's leaf hash, hex (the hash of the bytes if they do not decode, which is never stored). */
export function receiptKey (receipt: Uint8Array): string {
  return toHex(receiptLeaf(receipt) ?? sha256(receipt))
}

type Migration = (db: IDBPDatabase<EssaimDB>, tx: IDBPTransaction<EssaimDB, Array<StoreNames<EssaimDB>>, 'versionchange'>) => void

/** Step N upgrades a version N-1 database to version N. */
const migrations: Migration[] = [
  db => {
    db.createObjectStore('identity')
    db.createObjectStore('models')
    db.createObjectStore('kv')
  },
  db => {
    db.createObjectStore('jobs')
    db.createObjectStore('inputs')
    db.createObjectStore('outputs')
    db.createObjectStore('log')
    db.createObjectStore('receipts')
  },
  (_db, tx) => {
    tx.objectStore('models').createIndex('by-size', 'size')
  },
  (_db, tx) => {
    // Receipts by their verdict's leaf, not their id: a volunteer's start
    // read and hashed every receipt to learn the verdicts it holds. Of two
    // receipts of one verdict (proven against two heads), the first received
    // stays. Everything here is IndexedDB requests, so the upgrade
    // transaction stays open through it; a failure aborts it (and the open).
    const receipts = tx.objectStore('receipts')
    receipts.getAll().then(async all => {
      const byLeaf = new Map<string, StoredReceipt>()
      for (const r of all.sort((a, b) => a.receivedAt - b.receivedAt)) {
        const key = receiptKey(r.receipt)
        if (!byLeaf.has(key)) byLeaf.set(key, r)
      }
      await receipts.clear()
      await Promise.all([...byLeaf].map(async ([key, r]) => await receipts.put(r, key)))
    }).catch(() => { tx.abort() })
  }
]

export const DB_VERSION = migrations.length

/**
 * Fires `replaced` once a newer version of the app, in another tab, upgrades
 * the database: this tab's connections close (so the upgrade can run), and
 * it has no storage until it reloads into that version.
 */
export const databaseEvents = new EventTarget()
let replaced = false

/** Whether a newer version took this profile's database (see {@link databaseEvents}). */
export function databaseReplaced (): boolean {
  return replaced
}

export async function openEssaimDB (name = DB_NAME): Promise<IDBPDatabase<EssaimDB>> {
  return await openDB<EssaimDB>(name, DB_VERSION, {
    upgrade (db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < DB_VERSION; v++) migrations[v]!(db, tx)
    },
    blocking (_current, _blocked, event) {
      // A newer tab wants to upgrade: let it, this connection closes.
      (event.target as IDBDatabase).close()
      if (!replaced) { replaced = true; databaseEvents.dispatchEvent(new Event('replaced')) }
    }
  })
}
