/**
 * A translator made of the message dictionaries themselves, for the tests
 * that check every code has words: a missing key comes back as the key and
 * a left-over placeholder as `{name}`, which {@link expectWorded} refuses.
 */
import { expect } from 'vitest'
import { pagesEn, pagesFr } from '../../../src/ui/messages/pages.ts'
import type { Translator } from '../../../src/ui/reasons.ts'

/** `extra` adds strings that live outside src/ui/messages (e.g. i18n.svelte.ts, which needs the Svelte compiler). */
export function dictionaryTranslator (lang: 'en' | 'fr', extra: Record<string, string> = {}): Translator {
  const dict: Record<string, string> = { ...(lang === 'en' ? pagesEn : pagesFr), ...extra }
  const fill = (key: string, params?: Record<string, string | number>): string =>
    (dict[key] ?? key).replace(/\{(\w+)\}/g, (m, name: string) => params !== undefined && name in params ? String(params[name]) : m)
  return {
    t: fill,
    plural: (base, n, params) => fill(`${base}.${new Intl.PluralRules(lang).select(n) === 'one' ? 'one' : 'other'}`, { n, ...params }),
    tOr: (key, fallback, params) => key in dict ? fill(key, params) : fallback
  }
}

/** A sentence is worded: not a bare key, no placeholder left, not empty. */
export function expectWorded (text: string): void {
  expect(text.trim()).not.toBe('')
  expect(text).not.toMatch(/^[a-z-]+\.[\w.-]+$/)
  expect(text).not.toMatch(/\{\w+\}/)
}
