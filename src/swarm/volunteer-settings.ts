/**
 * What the volunteer is willing to run, set on the Settings page and kept in
 * localStorage next to the power settings (src/swarm/power-gate.ts). Today
 * one choice: whether to run models that are not in the app's catalog (a
 * requester's own .onnx). Such a model is still hash-checked, size-capped
 * and run only in the worker; the setting is for people who want to run
 * only the models this app ships. Default on: that is what the swarm is for.
 */
import { logger } from '@libp2p/logger'

export const VOLUNTEER_SETTINGS_KEY = 'essaim:volunteer'

export interface VolunteerSettings {
  /** Run jobs whose model is not in the catalog (bytes from the requester or peers, sha256-checked). */
  runForeignModels: boolean
}

export const DEFAULT_VOLUNTEER_SETTINGS: Readonly<VolunteerSettings> = { runForeignModels: true }

const log = logger('essaim:swarm:volunteer-settings')

/** Settings from their stored text; anything unreadable falls back to the defaults. Never throws. */
export function parseVolunteerSettings (text: string | null): VolunteerSettings {
  const settings = { ...DEFAULT_VOLUNTEER_SETTINGS }
  let raw: unknown
  try {
    raw = JSON.parse(text ?? 'null')
  } catch {
    return settings
  }
  if (typeof raw !== 'object' || raw === null) return settings
  const r = raw as { runForeignModels?: unknown }
  if (typeof r.runForeignModels === 'boolean') settings.runForeignModels = r.runForeignModels
  return settings
}

type SettingsStorage = Pick<Storage, 'getItem' | 'setItem'>

function defaultStorage (): SettingsStorage | undefined {
  try {
    return globalThis.localStorage
  } catch {
    // Storage can be denied outright (privacy settings): settings then last one visit.
    return undefined
  }
}

export function loadVolunteerSettings (storage: SettingsStorage | undefined = defaultStorage()): VolunteerSettings {
  try {
    return parseVolunteerSettings(storage?.getItem(VOLUNTEER_SETTINGS_KEY) ?? null)
  } catch (err) {
    log('ignoring unreadable volunteer settings: %s', (err as Error).message)
    return { ...DEFAULT_VOLUNTEER_SETTINGS }
  }
}

export function saveVolunteerSettings (settings: VolunteerSettings, storage: SettingsStorage | undefined = defaultStorage()): void {
  try {
    storage?.setItem(VOLUNTEER_SETTINGS_KEY, JSON.stringify(settings))
  } catch (err) {
    log('volunteer settings not saved: %s', (err as Error).message)
  }
}
