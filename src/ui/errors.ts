/**
 * Errors in the user's words. The layers below hand the UI an
 * {@link ErrorInfo} (class name, English message, and for the cases users
 * meet a code and parameters); these functions pick the sentence for the
 * most precise key there is — `error.<Name>.<code>`, then `error.<Name>` —
 * and fill in the parameters (sizes in MiB, peers by the end of their id).
 * A class whose sentence cannot say all its message does (a malformed .npy
 * has many ways to be) is followed by the raw message; an error we have no
 * words for gets a generic sentence and its raw "Name: message".
 *
 * Like reasons.ts, each function takes the translator, so
 * test/unit/ui/errors.test.ts can word every class and code in both languages.
 */
import { errorLine, type ErrorInfo, type ErrorParams } from '../core/errors.ts'
import type { RefusedPart } from '../core/tree-head.ts'
import type { ShardFailure } from '../core/scheduler-types.ts'
import type { VolunteerProblem } from '../swarm/volunteer.ts'
import type { OcrProblem, ReadingTitle } from '../swarm/ocr-pipeline.ts'
import type { Translator } from './reasons.ts'

/**
 * Classes whose sentence says everything their message does, with its
 * parameters: no raw detail after them. A coded case always counts as worded
 * in full (each code is one precise case).
 */
export const WORDED_IN_FULL: ReadonlySet<string> = new Set([
  'CancelledError', 'ModelTooLargeError', 'ModelSizeMismatchError', 'StoreQuotaError', 'StorageQuotaError', 'QuotaExceededError',
  'BlobNotFoundError', 'BlobHashMismatchError', 'BlobBusyError', 'BlobTimeoutError', 'LogRefusedError', 'BadSignatureError'
])

/** Parameters holding a number of bytes: shown in MiB (or bytes when small). */
const BYTE_PARAMS: ReadonlySet<string> = new Set(['bytes', 'limit', 'declared', 'actual', 'available'])

/** The key of the most precise sentence for `err`, or undefined when we have none. */
export function errorKey (tr: Translator, err: ErrorInfo): string | undefined {
  // A model announced larger than the cap without its size is its own case.
  const code = err.code ?? (err.name === 'ModelTooLargeError' && typeof err.params?.bytes !== 'number' ? 'unknown-size' : undefined)
  const has = (key: string): boolean => tr.tOr(key, '\0') !== '\0'
  if (code !== undefined && has(`error.${err.name}.${code}`)) return `error.${err.name}.${code}`
  return has(`error.${err.name}`) ? `error.${err.name}` : undefined
}

/** The sentence for `err` alone: its class's or case's words, else the generic "Something went wrong". */
export function errorTitle (tr: Translator, err: ErrorInfo): string {
  const key = errorKey(tr, err)
  return key === undefined ? tr.t('error.unknown') : tr.tOr(key, key, shownParams(tr, err.params))
}

/** True when {@link errorTitle} says all there is to say (no raw message needed after it). */
export function wordedInFull (tr: Translator, err: ErrorInfo): boolean {
  const key = errorKey(tr, err)
  return key !== undefined && (key.split('.').length > 2 || WORDED_IN_FULL.has(err.name))
}

/**
 * One line about `err` for the user: the worded sentence, naming the file
 * it is about if any, followed by the raw message when the sentence cannot
 * carry it (unknown errors show their raw "Name: message").
 */
export function errorText (tr: Translator, err: ErrorInfo): string {
  const key = errorKey(tr, err)
  let text = errorTitle(tr, err)
  if (key === undefined) return tr.t('error.with-detail', { error: text, detail: errorLine(err) })
  if (!wordedInFull(tr, err)) text = tr.t('error.with-detail', { error: text, detail: err.message })
  else if (typeof err.params?.file === 'string' && !tr.tOr(key, '').includes('{file}')) text = tr.t('error.in-file', { file: err.params.file, error: text })
  return text
}

/** A verifier's refusal (Verify page): the error's words, and which signed part of the receipt it is about. */
export function refusalText (tr: Translator, err: ErrorInfo): string {
  const part = err.params?.part as RefusedPart | undefined
  const text = errorText(tr, err)
  return part === undefined ? text : tr.t('error.part', { error: text, part: tr.tOr(`part.${part}`, part) })
}

/** The volunteer's last problem (the dashboard's "Last problem: …"). */
export function problemText (tr: Translator, p: VolunteerProblem): string {
  const error = errorText(tr, p.error)
  switch (p.code) {
    case 'failed': return error
    case 'receipt-not-stored': return tr.t('problem.receipt-not-stored', { error })
    case 'model-refused': return tr.t('problem.model-refused', { model: p.model, error })
  }
}

/**
 * Why a shard of a job has no verified result, naming the files it was made
 * of. A volunteer's error is its own words (unchecked): shown as said.
 */
export function failureText (tr: Translator, shard: number, failure: ShardFailure, files: readonly string[]): string {
  const named = files.length === 0 ? '' : tr.t(files.length === 1 ? 'job.failure-file' : 'job.failure-files', { file: files[0]!, more: files.length - 1 })
  switch (failure.kind) {
    case 'no-quorum': return tr.t('job.failure-no-quorum', { shard, files: named, replicas: failure.replicas })
    case 'given-up': return tr.t('job.failure-given-up', { shard, files: named, times: failure.times, error: failure.error })
    case 'deadline': return tr.t('job.failure-deadline', { shard, files: named })
  }
}

/** Why stage 2 of an OCR job waits (retried). */
export function ocrProblemText (tr: Translator, p: OcrProblem): string {
  return p.code === 'no-dictionary' ? tr.t('problem.no-dictionary') : tr.t(`problem.${p.code}`, { error: errorText(tr, p.error) })
}

/** The title of an OCR recognition job (the requester's own name for it, in its language when posted). */
export function readingTitle (tr: Translator, r: ReadingTitle): string {
  return tr.t(r.again ? 'reading.title-again' : 'reading.title', { job: r.job, lines: tr.plural('reading.lines', r.lines), images: tr.plural('reading.images', r.images) })
}

/** Parameters as shown: sizes in MiB or bytes, peers by the end of their id, an unknown file type named as such. */
function shownParams (tr: Translator, params: ErrorParams | undefined): ErrorParams | undefined {
  if (params === undefined) return undefined
  const out: ErrorParams = {}
  for (const [key, value] of Object.entries(params)) {
    if (BYTE_PARAMS.has(key) && typeof value === 'number') out[key] = sizeText(tr, value)
    else if (key === 'peer' && typeof value === 'string') out[key] = value.slice(-6)
    else if (key === 'type' && value === '') out[key] = tr.t('error.unknown-type')
    else out[key] = value
  }
  return out
}

/** A size as shown: bytes under a KiB, else KiB or MiB with one decimal. */
export function sizeText (tr: Translator, bytes: number): string {
  if (bytes < 1024) return tr.t('unit.bytes', { n: bytes })
  return bytes < 1024 * 1024 ? tr.t('unit.kib', { n: (bytes / 1024).toFixed(1) }) : tr.t('unit.mib', { n: (bytes / 1024 / 1024).toFixed(1) })
}
