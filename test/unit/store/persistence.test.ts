/**
 * Persistent storage (src/store/persistence.ts): asked for when it is not
 * already granted, and read back, against fake StorageManagers that grant,
 * refuse, lack the API or throw.
 */
import { describe, it, expect } from 'vitest'
import { requestPersistence, storageState, type StorageManagerLike } from '../../../src/store/persistence.ts'

function manager (granted: boolean, grants: boolean): StorageManagerLike & { asked: number } {
  const m = {
    asked: 0,
    persisted: async () => granted,
    persist: async () => { m.asked++; granted = grants; return grants },
    estimate: async () => ({ usage: 1234, quota: 10_000 })
  }
  return m
}

describe('persistent storage', () => {
  it('asks only when not yet persistent, and reports the answer', async () => {
    const already = manager(true, true)
    expect(await requestPersistence(already)).toBe(true)
    expect(already.asked).toBe(0)
    const grants = manager(false, true)
    expect(await requestPersistence(grants)).toBe(true)
    expect(grants.asked).toBe(1)
    expect(await storageState(grants)).toEqual({ persisted: true, usage: 1234, quota: 10_000 })
    const refuses = manager(false, false)
    expect(await requestPersistence(refuses)).toBe(false)
    expect(await storageState(refuses)).toEqual({ persisted: false, usage: 1234, quota: 10_000 })
  })

  it('says nothing where the browser has no such API, and never throws', async () => {
    expect(await requestPersistence(undefined)).toBeUndefined()
    expect(await requestPersistence({})).toBeUndefined()
    expect(await storageState({})).toEqual({})
    const broken: StorageManagerLike = {
      persisted: async () => { throw new Error('no') },
      persist: async () => { throw new Error('no') },
      estimate: async () => ({ usage: Number.NaN, quota: 5 })
    }
    expect(await requestPersistence(broken)).toBeUndefined()
    expect(await storageState(broken)).toEqual({ quota: 5 })
  })
})
