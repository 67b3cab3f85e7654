/**
 * The file formats in which receipts leave the app, and the only ones the
 * offline verifier (`npx essaim-verify`) and the Verify page read. Both are
 * UTF-8 JSON objects with exactly these fields (no others):
 *
 * A bundle, what the app exports (e.g. `essaim-receipts.json`):
 *
 *     {
 *       "format": "essaim-receipts/1",
 *       "receipts": ["<base64>", ...],   // receipt envelopes (receipt.ts)
 *       "heads": ["<base64>", ...]       // tree-head envelopes (tree-head.ts), any order
 *     }
 *
 * A single receipt (e.g. `receipt.json`):
 *
 *     { "format": "essaim-receipt/1", "receipt": "<base64>" }
 *
 * Each string is the exact envelope bytes (canonical CBOR) in standard
 * padded base64 (RFC 4648 §4). `heads` carries tree heads beyond those inside
 * the receipts: successive heads of a requester, so the verifier can check
 * the consistency chain and catch forks. Sizes are bounded by BUNDLE_LIMITS.
 */
import { fromBase64, toBase64 } from './bytes.ts'
import { BUNDLE_LIMITS } from './constants.ts'
import { BUNDLE_FORMAT_CODES, BundleFormatError, type ErrorParams } from './errors.ts'
import { refuse, type Refusal } from './tree-head.ts'
import { isPlainObject } from './validate.ts'

/** `format` of a bundle. */
export const BUNDLE_FORMAT = 'essaim-receipts/1'
/** `format` of a single-receipt file. */
export const RECEIPT_FORMAT = 'essaim-receipt/1'

/** A parsed bundle: envelope bytes, not yet verified. */
export interface ReceiptBundle {
  receipts: Uint8Array[]
  heads: Uint8Array[]
}

/** What {@link parseBundle} returns. */
export type ParseBundleResult = { ok: true, format: typeof BUNDLE_FORMAT | typeof RECEIPT_FORMAT, bundle: ReceiptBundle } | Refusal

/** The JSON text of a bundle (what the app's export writes). */
export function encodeBundle (bundle: ReceiptBundle): string {
  return JSON.stringify({ format: BUNDLE_FORMAT, receipts: bundle.receipts.map(toBase64), heads: bundle.heads.map(toBase64) }, null, 2) + '\n'
}

/** The JSON text of a single-receipt file. */
export function encodeReceiptFile (receipt: Uint8Array): string {
  return JSON.stringify({ format: RECEIPT_FORMAT, receipt: toBase64(receipt) }, null, 2) + '\n'
}

type BundleFormatCode = typeof BUNDLE_FORMAT_CODES[number]

function bad (message: string, code: BundleFormatCode, params?: ErrorParams): Refusal {
  return refuse(new BundleFormatError(message, { code, ...(params === undefined ? {} : { params }) }))
}

function decodeList (value: unknown, field: string, max: number): Uint8Array[] | Refusal {
  if (!Array.isArray(value)) return bad(`"${field}" must be a list of base64 strings`, 'not-list', { field })
  if (value.length > max) return bad(`"${field}" has ${value.length} entries, more than ${max}`, 'too-many', { field, count: value.length, max })
  const out: Uint8Array[] = []
  for (let i = 0; i < value.length; i++) {
    const bytes = fromBase64(value[i])
    if (bytes === undefined) return bad(`${field}[${i}] is not canonical padded base64`, 'not-base64', { field: `${field}[${i}]` })
    out.push(bytes)
  }
  return out
}

function exactKeys (o: Record<string, unknown>, keys: string[]): Refusal | undefined {
  const extra = Object.keys(o).find(k => !keys.includes(k))
  if (extra !== undefined) return bad(`unknown field ${JSON.stringify(extra.slice(0, 40))}`, 'unknown-field', { field: JSON.stringify(extra.slice(0, 40)) })
  const missing = keys.find(k => !Object.hasOwn(o, k))
  return missing === undefined ? undefined : bad(`missing field "${missing}"`, 'missing-field', { field: `"${missing}"` })
}

/**
 * Parses the text of a bundle or single-receipt file (bytes are not verified
 * here; see verify-bundle.ts). Never throws.
 */
export function parseBundle (text: unknown): ParseBundleResult {
  if (typeof text !== 'string') return bad('input is not text', 'not-text')
  if (text.length > BUNDLE_LIMITS.chars) return bad(`file of ${text.length} characters exceeds ${BUNDLE_LIMITS.chars}`, 'too-large', { chars: text.length, max: BUNDLE_LIMITS.chars })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return bad(`not JSON (${err instanceof Error ? err.message.slice(0, 120) : 'parse error'})`, 'not-json')
  }
  if (!isPlainObject(json)) return bad('not a JSON object', 'not-object')
  if (json.format === BUNDLE_FORMAT) {
    const wrong = exactKeys(json, ['format', 'receipts', 'heads'])
    if (wrong !== undefined) return wrong
    const receipts = decodeList(json.receipts, 'receipts', BUNDLE_LIMITS.receipts)
    if (!Array.isArray(receipts)) return receipts
    const heads = decodeList(json.heads, 'heads', BUNDLE_LIMITS.heads)
    if (!Array.isArray(heads)) return heads
    return { ok: true, format: BUNDLE_FORMAT, bundle: { receipts, heads } }
  }
  if (json.format === RECEIPT_FORMAT) {
    const wrong = exactKeys(json, ['format', 'receipt'])
    if (wrong !== undefined) return wrong
    const receipt = fromBase64(json.receipt)
    if (receipt === undefined) return bad('"receipt" is not canonical padded base64', 'not-base64', { field: '"receipt"' })
    return { ok: true, format: RECEIPT_FORMAT, bundle: { receipts: [receipt], heads: [] } }
  }
  const shown = typeof json.format === 'string' ? JSON.stringify(json.format.slice(0, 40)) : 'missing'
  return bad(`"format" is ${shown}; expected "${BUNDLE_FORMAT}" or "${RECEIPT_FORMAT}"`, 'format', { format: shown, expected: `"${BUNDLE_FORMAT}", "${RECEIPT_FORMAT}"` })
}
