/** Strings of an OCR job on the Job page (src/ui/components/OcrJob.svelte), in English and French. */
import type { Translation } from './translation.ts'

export const en = {
  'ocr-job.find.one': 'Finding text: {done}/{n} image verified',
  'ocr-job.find.other': 'Finding text: {done}/{n} images verified',
  'ocr-job.read.one': 'Reading lines: {done}/{n} line verified',
  'ocr-job.read.other': 'Reading lines: {done}/{n} lines verified',
  'ocr-job.read-when': '(posted once text is found in every image)',
  'ocr-job.done': 'Done: {lines} in {images}.',
  'ocr-job.lines.one': '{n} line of text',
  'ocr-job.lines.other': '{n} lines of text',
  'ocr-job.images.one': '{n} image',
  'ocr-job.images.other': '{n} images',
  'ocr-job.lines-read': '{read}/{found} lines read',
  'ocr-job.status.detecting': 'finding text…',
  'ocr-job.status.reading': 'reading lines…',
  'ocr-job.status.done': 'done',
  'ocr-job.status.failed': 'text detection failed (replicas did not agree)',
  'ocr-job.rechecked': 'text detection checked again (a volunteer was caught lying): lines read from its earlier answer are set aside',
  'ocr-job.col-stage': 'Stage',
  'ocr-job.stage-find': 'find',
  'ocr-job.stage-read': 'read {k}'
} as const

export const fr: Translation<typeof en> = {
  'ocr-job.find.one': 'Recherche du texte : {done}/{n} image vérifiée',
  'ocr-job.find.other': 'Recherche du texte : {done}/{n} images vérifiées',
  'ocr-job.read.one': 'Lecture des lignes : {done}/{n} ligne vérifiée',
  'ocr-job.read.other': 'Lecture des lignes : {done}/{n} lignes vérifiées',
  'ocr-job.read-when': '(publiée une fois le texte trouvé dans chaque image)',
  'ocr-job.done': 'Terminé : {lines} dans {images}.',
  'ocr-job.lines.one': '{n} ligne de texte',
  'ocr-job.lines.other': '{n} lignes de texte',
  'ocr-job.images.one': '{n} image',
  'ocr-job.images.other': '{n} images',
  'ocr-job.lines-read': '{read}/{found} lignes lues',
  'ocr-job.status.detecting': 'recherche du texte…',
  'ocr-job.status.reading': 'lecture des lignes…',
  'ocr-job.status.done': 'terminé',
  'ocr-job.status.failed': 'échec de la détection du texte (les réplicas ne concordent pas)',
  'ocr-job.rechecked': 'détection du texte vérifiée à nouveau (un volontaire a été pris à mentir) : les lignes lues dans sa réponse précédente sont écartées',
  'ocr-job.col-stage': 'Étape',
  'ocr-job.stage-find': 'recherche',
  'ocr-job.stage-read': 'lecture {k}'
}
