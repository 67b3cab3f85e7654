/**
 * The pages' message modules (src/ui/messages/): French says the same
 * things as English — same keys, same `{placeholders}`, both plural forms —
 * and no two pages define the same key (the later one would silently win).
 */
import { describe, expect, it } from 'vitest'
import { MODULES } from '../../../src/ui/messages/pages.ts'

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map(m => m[1]!).sort()

describe.each(Object.entries(MODULES))('messages/%s', (_name, mod) => {
  const en = mod.en as Record<string, string>
  const fr = mod.fr as Record<string, string>

  it('has a French string for every English key and no other', () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort())
  })

  it('keeps the placeholders of each English string, and no string is empty', () => {
    for (const [key, text] of Object.entries(en)) {
      expect(text.trim(), key).not.toBe('')
      expect(fr[key]?.trim(), key).not.toBe('')
      expect(placeholders(fr[key] ?? ''), key).toEqual(placeholders(text))
    }
  })

  it('defines plurals as pairs (x.one and x.other)', () => {
    for (const key of Object.keys(en)) {
      if (key.endsWith('.one')) expect(en, key).toHaveProperty([key.replace(/\.one$/, '.other')])
      if (key.endsWith('.other')) expect(en, key).toHaveProperty([key.replace(/\.other$/, '.one')])
    }
  })
})

describe('message modules together', () => {
  it('never define one key twice', () => {
    const seen = new Map<string, string>()
    for (const [name, mod] of Object.entries(MODULES)) {
      for (const key of Object.keys(mod.en)) {
        expect(seen.get(key), `${key} in ${name}`).toBeUndefined()
        seen.set(key, name)
      }
    }
  })
})
