/**
 * Every error a user can meet has words in English and French
 * (src/ui/errors.ts, src/ui/messages/errors.ts): each named error class of
 * src/core, src/compute, src/net and src/store, each BadInputError and
 * BundleFormatError code, the volunteer's and OCR stage 2's problems, and
 * the OCR recognition job's title. A class or code added below the UI
 * without a sentence in both languages fails here. An error we have no
 * words for still shows its raw "Name: message" under a translated line.
 */
import { describe, expect, it } from 'vitest'
import { dictionaryTranslator, expectWorded } from './dictionary-translator.ts'
import { errorKey, errorText, errorTitle, failureText, ocrProblemText, problemText, readingTitle, refusalText, sizeText } from '../../../src/ui/errors.ts'
import * as core from '../../../src/core/errors.ts'
import { BUNDLE_FORMAT_CODES, CoreError, errorInfo, type ErrorInfo, type ErrorParams } from '../../../src/core/errors.ts'
import * as net from '../../../src/net/errors.ts'
import { NetError } from '../../../src/net/errors.ts'
import { aboutFile, BadInputError, COMPUTE_ERROR_NAMES, INPUT_CODES, reviveComputeError, toWireError } from '../../../src/compute/errors.ts'
import { ModelSizeMismatchError, ModelTooLargeError } from '../../../src/compute/foreign-model.ts'
import { ModelFetchError, ModelUnavailableError, SourceHashMismatchError } from '../../../src/compute/model-source.ts'
import { StoreQuotaError } from '../../../src/store/job-store.ts'
import { StorageQuotaError } from '../../../src/store/model-cache.ts'
import { parseBundle } from '../../../src/core/receipt-bundle.ts'
import { refusalInfo } from '../../../src/core/verify-bundle.ts'
import { PROBLEM_CODES, type VolunteerProblem } from '../../../src/swarm/volunteer.ts'
import { OCR_PROBLEM_CODES, type OcrProblem } from '../../../src/swarm/ocr-pipeline.ts'


/** Every parameter any sentence takes, so a missing one shows as a left-over `{name}` only if the sentence names one nobody passes. */
const PARAMS: ErrorParams = {
  file: 'scans/a.png', type: 'image/tiff', bytes: 5_000_000, width: 9000, height: 10, side: 4096, format: 3, bits: 24, minutes: 30,
  rate: 44_100, limit: 64 * 1024 * 1024, dtype: '<c8', max: 64, value: 0, model: 'my-model', chars: 9, expected: '"a", "b"',
  field: 'receipts', count: 3, declared: 1000, actual: 2000, peer: '12D3KooWabcdef', available: 10
}

/** Every named error class users can meet, one instance each. */
const classes: Error[] = [
  ...(Object.values(core) as unknown[]).filter((v): v is new (m: string) => CoreError => typeof v === 'function' && v.prototype instanceof CoreError).map(C => new C('m')),
  ...(Object.values(net) as unknown[]).filter((v): v is new (...a: string[]) => NetError => typeof v === 'function' && v.prototype instanceof NetError).map(C => new C('12D3KooWabcdef', 'x', 'y')),
  ...COMPUTE_ERROR_NAMES.map(name => reviveComputeError({ name, message: 'm' })),
  new ModelTooLargeError('m', 80 * 1024 * 1024, 64 * 1024 * 1024),
  new ModelSizeMismatchError('m', 1000, 2000),
  new ModelFetchError('/models/x.onnx', 'HTTP 404'),
  new ModelUnavailableError('m', []),
  new SourceHashMismatchError({ kind: 'origin', url: '/models/x.onnx' }, 'aa', 'bb'),
  new StoreQuotaError('a verdict'),
  new StorageQuotaError('aa', 5_000_000, 10)
]

describe.each(['en', 'fr'] as const)('errors in %s', lang => {
  const tr = dictionaryTranslator(lang)

  it('has a sentence for every named error class', () => {
    expect(classes.length).toBeGreaterThan(30)
    for (const e of classes) {
      const info = errorInfo(e)
      expect(errorKey(tr, info), e.name).toBe(`error.${e.name}`)
      expectWorded(errorText(tr, { ...info, params: { ...PARAMS, ...info.params } }))
    }
  })

  it.each(INPUT_CODES)('words the input case %s, naming the file', code => {
    const info = errorInfo(new BadInputError('raw', { code, params: PARAMS }))
    expect(errorKey(tr, info)).toBe(`error.BadInputError.${code}`)
    const text = errorText(tr, info)
    expectWorded(text)
    expect(text).toContain('scans/a.png')
    expect(text).not.toContain('raw')
  })

  it.each(BUNDLE_FORMAT_CODES)('words the receipt file case %s', code => {
    const info = errorInfo(new core.BundleFormatError('raw', { code, params: PARAMS }))
    expect(errorKey(tr, info)).toBe(`error.BundleFormatError.${code}`)
    expectWorded(errorText(tr, info))
  })

  it.each(PROBLEM_CODES)('words the volunteer problem %s', code => {
    const error = errorInfo(new BadInputError('raw', { code: 'not-wav' }))
    const p: VolunteerProblem = code === 'model-refused' ? { code, model: 'my-model', error } : { code, error }
    const text = problemText(tr, p)
    expectWorded(text)
    expect(text).toContain(errorText(tr, error))
  })

  it.each(OCR_PROBLEM_CODES)('words the OCR stage 2 problem %s', code => {
    const p: OcrProblem = code === 'no-dictionary' ? { code } : { code, error: errorInfo(new ModelFetchError('/x', 'HTTP 500')) }
    expectWorded(ocrProblemText(tr, p))
  })

  it('says why a shard failed, naming its files and quoting the volunteer', () => {
    const givenUp = failureText(tr, 4, { kind: 'given-up', times: 3, error: 'Reshape: cannot reshape [3,3] to [-1,6]' }, ['odd.json'])
    expectWorded(givenUp)
    expect(givenUp).toContain('odd.json')
    expect(givenUp).toContain('Reshape: cannot reshape [3,3] to [-1,6]')
    expect(givenUp).toMatch(/\b4\b.*\b3\b/)
    const late = failureText(tr, 2, { kind: 'deadline', at: 0 }, ['late.png'])
    expectWorded(late)
    expect(late).toContain('late.png')
    const noQuorum = failureText(tr, 7, { kind: 'no-quorum', replicas: 8 }, ['a.png', 'b.png', 'c.png'])
    expectWorded(noQuorum)
    expect(noQuorum).toContain('a.png')
    expect(noQuorum).toMatch(/\b2\b.*\b8\b/)
    expect(failureText(tr, 0, { kind: 'no-quorum', replicas: 8 }, [])).not.toContain('(')
  })

  it('titles an OCR recognition job with its counts, and says when it reads again', () => {
    for (const again of [false, true]) {
      for (const [lines, images] of [[1, 1], [12, 3]] as const) {
        const text = readingTitle(tr, { job: 'Scans', lines, images, again })
        expectWorded(text)
        expect(text).toMatch(new RegExp(`^Scans.*${lines}.*${images}`))
      }
    }
    expect(readingTitle(tr, { job: 'S', lines: 2, images: 1, again: true })).not.toBe(readingTitle(tr, { job: 'S', lines: 2, images: 1, again: false }))
  })

  it('shows sizes in MiB and a peer by the end of its id', () => {
    const text = errorText(tr, errorInfo(new ModelTooLargeError('big', 80 * 1024 * 1024, 64 * 1024 * 1024)))
    expect(text).toContain('80.0')
    expect(text).toContain('64.0')
    expect(text).toContain('big')
    expect(errorText(tr, errorInfo(new net.BlobBusyError('12D3KooWabcdef')))).toContain('…abcdef')
    expect([sizeText(tr, 500), sizeText(tr, 83_438), sizeText(tr, 2_306_867)].map(s => s.replace(/[^\d.]/g, ''))).toEqual(['500', '81.5', '2.2'])
    // Announced over the cap without a size: its own sentence, with no size in it.
    expectWorded(errorText(tr, errorInfo(new ModelTooLargeError('big', undefined, 64 * 1024 * 1024))))
  })

  it('follows a sentence that cannot carry all of the message with the raw message', () => {
    const text = errorText(tr, errorInfo(new BadInputError('.npy header is truncated')))
    expect(text).toContain(errorTitle(tr, { name: 'BadInputError', message: '' }))
    expect(text).toContain('.npy header is truncated')
  })

  it('words an unknown error generically and keeps its raw name and message', () => {
    const text = errorText(tr, errorInfo(new RangeError('an image has 900 lines')))
    expect(text).toContain(tr.t('error.unknown'))
    expect(text).toContain('RangeError: an image has 900 lines')
    expect(errorText(tr, errorInfo('a thrown string'))).toContain('a thrown string')
  })

  it('words a verifier refusal with the part of the receipt it is about', () => {
    const bad = parseBundle('{')
    expect(bad.ok).toBe(false)
    if (bad.ok) return
    expect(refusalText(tr, refusalInfo(bad))).toBe(tr.t('error.BundleFormatError.not-json'))
    const signature = refusalText(tr, { name: 'BadSignatureError', message: 'signature does not verify', params: { part: 'verdict' } })
    expectWorded(signature)
    expect(signature).toContain(tr.t('part.verdict'))
  })
})

describe('errors', () => {
  it('French differs from English for every class and code (translated, not copied)', () => {
    const en = dictionaryTranslator('en')
    const fr = dictionaryTranslator('fr')
    const infos: ErrorInfo[] = [
      ...classes.map(e => ({ ...errorInfo(e), params: PARAMS })),
      ...INPUT_CODES.map(code => ({ name: 'BadInputError', message: '', code, params: PARAMS })),
      ...BUNDLE_FORMAT_CODES.map(code => ({ name: 'BundleFormatError', message: '', code, params: PARAMS }))
    ]
    // "Annulé" and a few others are short; none may be the English words.
    for (const info of infos) expect(errorTitle(fr, info), `${info.name} ${info.code ?? ''}`).not.toBe(errorTitle(en, info))
  })

  it('a coded error keeps its code and parameters across the worker boundary and when named after a file', () => {
    const e = new BadInputError('the image is empty', { code: 'image-empty', params: { width: 0 } })
    const back = reviveComputeError(toWireError(e))
    expect(back).toBeInstanceOf(BadInputError)
    expect(errorInfo(back)).toEqual({ name: 'BadInputError', message: 'the image is empty', code: 'image-empty', params: { width: 0 } })
    const named = aboutFile(back, 'a.png')
    expect(named).toBeInstanceOf(BadInputError)
    expect(errorInfo(named)).toEqual({ name: 'BadInputError', message: 'a.png: the image is empty', code: 'image-empty', params: { width: 0, file: 'a.png' } })
    // Errors of other layers become BadInputError, their message kept.
    expect(errorInfo(aboutFile(new TypeError('boom'), 'b.wav'))).toEqual({ name: 'BadInputError', message: 'b.wav: boom', params: { file: 'b.wav' } })
    // Hostile wire params are dropped, not trusted.
    expect(errorInfo(reviveComputeError({ name: 'BadInputError', message: 'm', code: 'not-wav', params: { x: { y: 1 } } }))).toEqual({ name: 'BadInputError', message: 'm', code: 'not-wav' })
  })

  it('an error event thrown as it is gives its error, or its type; other values their text', () => {
    const inner = new TypeError('data channel closed')
    expect(errorInfo(Object.assign(new Event('error'), { error: inner }))).toEqual({ name: 'TypeError', message: 'data channel closed' })
    expect(errorInfo(new Event('close'))).toEqual({ name: 'Error', message: 'close event' })
    expect(errorInfo('gone')).toEqual({ name: 'Error', message: 'gone' })
    expect(errorInfo({ message: 'plain object' })).toEqual({ name: 'Error', message: 'plain object' })
  })
})
