/**
 * Every code the runtime reports to the user (volunteer idle reasons, load
 * steps and sources, refused models, compute provider and threads, fork
 * kinds) and every catalog model has words in English and French: a new
 * code, or a model added to models/catalog.json, without a translation
 * fails here. The translator is the dictionaries themselves, so a missing
 * key comes back as the key and a left-over placeholder as `{name}`.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { dictionaryTranslator, expectWorded } from './dictionary-translator.ts'
import { pagesEn, pagesFr } from '../../../src/ui/messages/pages.ts'
import { forkText, idleText, loadText, modelTitle, providerText, threadsText, unsupportedText } from '../../../src/ui/reasons.ts'
import { IDLE_CODES, LOAD_CODES, UNSUPPORTED_CODES, type IdleReason, type LoadStep, type Unsupported } from '../../../src/swarm/volunteer.ts'
import { PROVIDER_CODES, THREAD_CODES, type ProviderReason, type ThreadChoice } from '../../../src/compute/providers.ts'
import type { ModelSourceKind } from '../../../src/compute/model-source.ts'
import type { ForkEvidence } from '../../../src/core/fork.ts'

/** The app's own strings (power.threads) live in i18n.svelte.ts, which needs the Svelte compiler: the two plural forms the tests need are here. */
const APP = {
  en: { 'power.threads.one': '{n} thread', 'power.threads.other': '{n} threads' },
  fr: { 'power.threads.one': '{n} fil', 'power.threads.other': '{n} fils' }
}


const unsupported: Record<Unsupported['code'], Unsupported> = {
  refused: { code: 'refused', model: 'm1', error: { name: 'UnsupportedModelError', message: 'unsupported operator or opset: no such op' } },
  'foreign-off': { code: 'foreign-off', model: 'm2' }
}
const idle = (code: IdleReason['code']): IdleReason => code === 'unsupported'
  ? { code, why: unsupported.refused }
  : code === 'worker-failed' ? { code, error: { name: 'WorkerFailedError', message: 'worker crashed (and 3 fresh workers before it)' } } : { code }
const steps = (code: LoadStep['code']): LoadStep[] => code === 'download'
  ? (['cache', 'origin', 'peer'] as ModelSourceKind[]).flatMap(source => [{ code, source, percent: 40 }, { code, source, peer: '12D3KooWabcdef', percent: 40 }])
  : [{ code }]
const provider = (code: ProviderReason['code']): ProviderReason =>
  code === 'adapter-failed' || code === 'gpu-failed' || code === 'unavailable' ? { code, error: 'boom' } : { code }
const threads = (code: ThreadChoice['reason']['code']): ThreadChoice[] => {
  const reason = code === 'capped' ? { code, wanted: 6, cores: 2 } : code === 'all-but-one' ? { code, cores: 8 } : { code }
  return [1, 3].map(n => ({ threads: n, reason }))
}
const who = new Uint8Array(32).fill(7)
const forks: ForkEvidence[] = [
  { kind: 'same-size', requester: who, size: 3, a: new Uint8Array(), b: new Uint8Array() },
  { kind: 'bad-consistency', requester: who, size: 4, head: new Uint8Array() },
  { kind: 'leaf-conflict', requester: who, index: 2, a: { verdict: new Uint8Array(), proof: [], head: new Uint8Array() }, b: { verdict: new Uint8Array(), proof: [], head: new Uint8Array() } }
]
const catalog = JSON.parse(readFileSync('models/catalog.json', 'utf8')) as { models: Array<{ id: string, title: string }> }

describe.each(['en', 'fr'] as const)('reasons in %s', lang => {
  const tr = dictionaryTranslator(lang, APP[lang])

  it.each(IDLE_CODES)('words the idle reason %s', code => { expectWorded(idleText(tr, idle(code))) })
  it.each(UNSUPPORTED_CODES)('words the refusal %s, naming the model', code => {
    const text = unsupportedText(tr, unsupported[code])
    expectWorded(text)
    expect(text).toContain(unsupported[code].model)
  })
  it.each(LOAD_CODES)('words the load step %s', code => { for (const s of steps(code)) expectWorded(loadText(tr, s)) })
  it.each(PROVIDER_CODES)('words the provider reason %s', code => { expectWorded(providerText(tr, provider(code))) })
  it.each(THREAD_CODES)('words the thread reason %s, with the count', code => {
    for (const c of threads(code)) {
      const text = threadsText(tr, c)
      expectWorded(text)
      expect(text).toContain(String(c.threads))
    }
  })
  it('words each kind of fork evidence, naming the requester', () => {
    for (const f of forks) {
      const text = forkText(tr, f)
      expectWorded(text)
      expect(text).toContain('0707070707070707…')
    }
  })
  it('has a title for every model of the catalog', () => {
    for (const m of catalog.models) {
      expect(`model.${m.id}` in (lang === 'en' ? pagesEn : pagesFr), m.id).toBe(true)
      expectWorded(modelTitle(tr, m))
    }
  })
})

describe('reasons', () => {
  it('French differs from English (translated, not copied)', () => {
    const en = dictionaryTranslator('en', APP.en)
    const fr = dictionaryTranslator('fr', APP.fr)
    for (const code of IDLE_CODES) expect(idleText(fr, idle(code))).not.toBe(idleText(en, idle(code)))
    for (const code of PROVIDER_CODES) expect(providerText(fr, provider(code))).not.toBe(providerText(en, provider(code)))
    expect(modelTitle(fr, catalog.models.find(m => m.id === 'digits')!)).not.toBe(modelTitle(en, catalog.models.find(m => m.id === 'digits')!))
  })

  it('a model outside the catalog keeps its own title', () => {
    expect(modelTitle(dictionaryTranslator('fr', APP.fr), { id: 'my-model', title: 'My model' })).toBe('My model')
  })
})
