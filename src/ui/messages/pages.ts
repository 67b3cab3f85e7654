/**
 * Every page's message module, merged: i18n.svelte.ts adds these to the
 * app's own strings. A module per page keeps each page's English and French
 * side by side (and out of one ever-growing file).
 */
import * as errors from './errors.ts'
import * as job from './job.ts'
import * as ledger from './ledger.ts'
import * as models from './models.ts'
import * as ocrJob from './ocr-job.ts'
import * as reasons from './reasons.ts'
import * as submit from './submit.ts'
import * as verify from './verify.ts'
import * as volunteer from './volunteer.ts'

export const MODULES = { volunteer, submit, job, 'ocr-job': ocrJob, ledger, verify, models, reasons, errors } as const

export const pagesEn = { ...volunteer.en, ...ledger.en, ...verify.en, ...models.en, ...job.en, ...ocrJob.en, ...submit.en, ...reasons.en, ...errors.en }
export const pagesFr = { ...volunteer.fr, ...ledger.fr, ...verify.fr, ...models.fr, ...job.fr, ...ocrJob.fr, ...submit.fr, ...reasons.fr, ...errors.fr }
