/**
 * Words for the reasons and steps the runtime reports as codes: why the
 * volunteer waits, where a model load is, why a model is refused, which
 * compute provider and how many threads and why, fork evidence, and model
 * titles. The swarm, compute and core layers never build sentences for the
 * user; they hand over a code and its parameters, and these functions say it
 * in the user's language (src/ui/messages/*.ts hold the words).
 *
 * Each function takes the translator rather than importing the i18n rune,
 * so test/unit/ui/reasons.test.ts can word every code in both languages.
 */
import type { MessageKey } from './i18n.svelte.ts'
import type { IdleReason, LoadStep, Unsupported } from '../swarm/volunteer.ts'
import type { ProviderReason, ThreadChoice } from '../compute/providers.ts'
import type { ForkEvidence } from '../core/fork.ts'
import { toHex } from '../core/bytes.ts'
import { errorText } from './errors.ts'

type Params = Record<string, string | number>

/** What these functions need of src/ui/i18n.svelte.ts `i18n`. */
export interface Translator {
  t: (key: MessageKey, params?: Params) => string
  plural: (base: string, n: number, params?: Params) => string
  /** The message for a key built at run time, else `fallback`. */
  tOr: (key: string, fallback: string, params?: Params) => string
}

/** Why the volunteer is waiting (the `{detail}` of "Waiting: {detail}."). */
export function idleText (tr: Translator, reason: IdleReason): string {
  if (reason.code === 'unsupported') return tr.t('wait.unsupported', { why: unsupportedText(tr, reason.why) })
  if (reason.code === 'worker-failed') return tr.t('wait.worker-failed', { error: errorText(tr, reason.error) })
  return tr.t(`wait.${reason.code}`)
}

/** Why this browser will not run a job's model. */
export function unsupportedText (tr: Translator, why: Unsupported): string {
  return why.code === 'refused'
    ? tr.t('unsupported.refused', { model: why.model, error: errorText(tr, why.error) })
    : tr.t('unsupported.foreign-off', { model: why.model })
}

/** Where loading a model is (the `{detail}` of "Loading {model}: {detail}…"). */
export function loadText (tr: Translator, step: LoadStep): string {
  if (step.code !== 'download') return tr.t(`load.${step.code}`)
  const from = step.peer === undefined ? tr.t(`source.${step.source}`) : tr.t('source.peer-id', { peer: step.peer.slice(-6) })
  return tr.t('load.download', { from, percent: step.percent })
}

/** Why models run on this provider. */
export function providerText (tr: Translator, reason: ProviderReason): string {
  return 'error' in reason ? tr.t(`provider.${reason.code}`, { error: reason.error }) : tr.t(`provider.${reason.code}`)
}

/** How many threads one inference uses, and why. */
export function threadsText (tr: Translator, choice: ThreadChoice): string {
  const threads = tr.plural('power.threads', choice.threads)
  const r = choice.reason
  switch (r.code) {
    case 'capped': return tr.t('threads.capped', { threads, wanted: r.wanted, cores: r.cores })
    case 'all-but-one': return tr.t('threads.all-but-one', { threads, cores: r.cores })
    default: return tr.t(`threads.${r.code}`, { threads })
  }
}

/** One line about a piece of fork evidence (the words of core/fork.ts `describeFork`, translated). */
export function forkText (tr: Translator, e: ForkEvidence): string {
  const who = `${toHex(e.requester).slice(0, 16)}…`
  return e.kind === 'leaf-conflict' ? tr.t('fork.leaf-conflict', { who, index: e.index }) : tr.t(`fork.${e.kind}`, { who, size: e.size })
}

/** A catalog model's title in the user's language; a model we have no words for keeps the catalog's title. */
export function modelTitle (tr: Translator, model: { id: string, title: string }): string {
  return tr.tOr(`model.${model.id}`, model.title)
}
