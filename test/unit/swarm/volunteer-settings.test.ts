/**
 * "Run models that are not in the catalog" survives a reload, defaults to on,
 * and unreadable or hostile stored values never stop the app: they fall back
 * to the default.
 */
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_VOLUNTEER_SETTINGS, loadVolunteerSettings, parseVolunteerSettings, saveVolunteerSettings, VOLUNTEER_SETTINGS_KEY
} from '../../../src/swarm/volunteer-settings.ts'
import { JUNK_BYTES } from '../vectors/junk.ts'

function memoryStorage (): Pick<Storage, 'getItem' | 'setItem'> & { items: Map<string, string> } {
  const items = new Map<string, string>()
  return { items, getItem: k => items.get(k) ?? null, setItem: (k, v) => { items.set(k, v) } }
}

describe('volunteer settings', () => {
  it('default to running models outside the catalog', () => {
    expect(DEFAULT_VOLUNTEER_SETTINGS.runForeignModels).toBe(true)
    expect(loadVolunteerSettings(memoryStorage())).toEqual({ runForeignModels: true })
    expect(loadVolunteerSettings(undefined)).toEqual({ runForeignModels: true })
  })

  it('round-trip through storage', () => {
    const storage = memoryStorage()
    saveVolunteerSettings({ runForeignModels: false }, storage)
    expect(JSON.parse(storage.items.get(VOLUNTEER_SETTINGS_KEY)!)).toEqual({ runForeignModels: false })
    expect(loadVolunteerSettings(storage)).toEqual({ runForeignModels: false })
    saveVolunteerSettings({ runForeignModels: true }, storage)
    expect(loadVolunteerSettings(storage)).toEqual({ runForeignModels: true })
  })

  it('fall back to the defaults on junk, and never throw when storage does', () => {
    for (const text of [null, '', '{', 'null', '42', '"x"', '[]', '{"runForeignModels": "no"}', '{"runForeignModels": 0}', '{"__proto__": {"runForeignModels": false}}']) {
      expect(parseVolunteerSettings(text), String(text)).toEqual({ runForeignModels: true })
    }
    for (const [why, bytes] of JUNK_BYTES) expect(parseVolunteerSettings(new TextDecoder().decode(bytes)), why).toEqual({ runForeignModels: true })
    expect(parseVolunteerSettings('{"runForeignModels": false, "other": 1}')).toEqual({ runForeignModels: false })
    const broken = { getItem: () => { throw new Error('SecurityError') }, setItem: () => { throw new Error('QuotaExceededError') } }
    expect(loadVolunteerSettings(broken)).toEqual({ runForeignModels: true })
    expect(() => { saveVolunteerSettings({ runForeignModels: false }, broken) }).not.toThrow()
  })
})
