/**
 * The one IndexedDB database of an Essaim browser profile, through idb.
 * The schema is a type parameter, so store names and value shapes are
 * checked by the compiler. Migrations are numbered: each version's step runs
 * once, in order, when an older database is opened. Add a store by adding a
 * migration and bumping DB_VERSION; never edit a released step.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import type { Reverifying, ShardFailure } from '../core/scheduler-types.ts'

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
  /** Volunteer: receipts this profile earned, by content id hex. */
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
  }
]

export const DB_VERSION = migrations.length

export async function openEssaimDB (name = DB_NAME): Promise<IDBPDatabase<EssaimDB>> {
  return await openDB<EssaimDB>(name, DB_VERSION, {
    upgrade (db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < DB_VERSION; v++) migrations[v]!(db, tx)
    },
    blocking (_current, _blocked, event) {
      // A newer tab wants to upgrade: let it, this connection closes.
      (event.target as IDBDatabase).close()
    }
  })
}
