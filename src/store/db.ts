/**
 * The one IndexedDB database of an Essaim browser profile, through idb.
 * The schema is a type parameter, so store names and value shapes are
 * checked by the compiler. Migrations are numbered: each version's step runs
 * once, in order, when an older database is opened. Add a store by adding a
 * migration and bumping DB_VERSION; never edit a released step.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

export const DB_NAME = 'essaim'

export interface EssaimDB extends DBSchema {
  /** This profile's signing key (key 'self'). Never leaves the device. */
  identity: { key: string, value: { seed: Uint8Array, createdAt: number } }
  /** Verified model bytes by sha256 hex. */
  models: { key: string, value: { bytes: Uint8Array, size: number, storedAt: number } }
  /** Small settings and state by name. */
  kv: { key: string, value: unknown }
}

type Migration = (db: IDBPDatabase<EssaimDB>) => void

/** Step N upgrades a version N-1 database to version N. */
const migrations: Migration[] = [
  db => {
    db.createObjectStore('identity')
    db.createObjectStore('models')
    db.createObjectStore('kv')
  }
]

export const DB_VERSION = migrations.length

export async function openEssaimDB (name = DB_NAME): Promise<IDBPDatabase<EssaimDB>> {
  return await openDB<EssaimDB>(name, DB_VERSION, {
    upgrade (db, oldVersion) {
      for (let v = oldVersion; v < DB_VERSION; v++) migrations[v]!(db)
    },
    blocking (_current, _blocked, event) {
      // A newer tab wants to upgrade: let it, this connection closes.
      (event.target as IDBDatabase).close()
    }
  })
}
