/**
 * Offline verification of a receipt file or bundle (receipt-bundle.ts): the
 * one function behind both `npx essaim-verify` and the app's Verify page, so
 * they can never disagree. Every receipt is verified on its own
 * (verifyReceipt), every extra head on its own (verifyTreeHead), then all of
 * them go through a Ledger, which finds forks across heads and receipts and
 * derives the credit. Each piece of fork evidence is re-checked from its
 * bytes before it is reported.
 *
 * The bundle verifies only if every receipt and head verifies and there is
 * no fork evidence; `problems` lists the exact reason of each failure.
 */
import { toHex } from './bytes.ts'
import { errorInfo, type ErrorInfo } from './errors.ts'
import { BUNDLE_LIMITS } from './constants.ts'
import { checkForkEvidence, describeFork, type ForkEvidence } from './fork.ts'
import { Ledger, type LedgerSnapshot } from './ledger.ts'
import { verifyReceipt } from './receipt.ts'
import { parseBundle, type ReceiptBundle } from './receipt-bundle.ts'
import { verifyTreeHead, type Refusal, type VerifyOptions } from './tree-head.ts'

/** A refusal as data a UI words: the error's name, code and parameters, with the refused part (`params.part`) when known. */
export function refusalInfo (r: Refusal): ErrorInfo {
  const info = errorInfo(r.error)
  return r.part === undefined ? info : { ...info, params: { ...info.params, part: r.part } }
}

/** The outcome for one receipt of the bundle. Fields are null when the receipt could not be opened that far. */
export interface ReceiptReport {
  /** 0-based position in the bundle's `receipts`. */
  position: number
  ok: boolean
  /** Exact reason of failure (`"<ErrorName>: …"`), or null. */
  reason: string | null
  /** The same failure as data, for a UI to word; null when ok. */
  error: ErrorInfo | null
  requester: string | null
  jobId: string | null
  shard: number | null
  /** Leaf index in the requester's log. */
  index: number | null
  headSize: number | null
  credited: string[]
  rejected: string[]
  /** After its requester's fork point: its credit is not counted. */
  flagged: boolean
}

/** The outcome for one extra tree head. */
export interface HeadReport {
  position: number
  ok: boolean
  reason: string | null
  error: ErrorInfo | null
  requester: string | null
  size: number | null
}

/** A fork found in the bundle, with a line of text and the result of re-checking it. */
export interface ForkReport {
  evidence: ForkEvidence
  description: string
  /** True when `checkForkEvidence` confirmed it from the bytes. */
  confirmed: boolean
}

export interface BundleReport {
  /** True only if every receipt and head verified and no fork was found. */
  verified: boolean
  format: string
  receipts: ReceiptReport[]
  heads: HeadReport[]
  forks: ForkReport[]
  ledger: LedgerSnapshot
  /** One line per failure, with its exact reason; empty when verified. */
  problems: string[]
}

/** Verifies parsed bundle bytes. Never throws. */
export function verifyBundle (bundle: ReceiptBundle, format: string, options: VerifyOptions = {}): BundleReport {
  // The file's own size bounds memory here, so the ledger's per-requester caps are lifted to the bundle's.
  const every = BUNDLE_LIMITS.receipts + BUNDLE_LIMITS.heads
  const ledger = new Ledger({ limits: { requesters: every, headsPerRequester: every, heads: every, receiptsPerRequester: BUNDLE_LIMITS.receipts, receipts: BUNDLE_LIMITS.receipts } })
  const problems: string[] = []
  const heads = bundle.heads.map((bytes, position): HeadReport => {
    const h = verifyTreeHead(bytes, options)
    if (h.ok || h.error.name === 'ForkError') ledger.addTreeHead(bytes)
    if (!h.ok) {
      problems.push(`head ${position}: ${h.reason}`)
      return { position, ok: false, reason: h.reason, error: refusalInfo(h), requester: null, size: null }
    }
    return { position, ok: true, reason: null, error: null, requester: toHex(h.envelope.signer), size: h.envelope.body.size }
  })
  const clockFree = options.maxAgeMs === undefined && options.maxFutureMs === undefined
  const receipts = bundle.receipts.map((bytes, position): ReceiptReport => {
    // Without clock limits the ledger's own verification is the receipt's; with them, check the clock first.
    const timed = clockFree ? undefined : verifyReceipt(bytes, options)
    const added = timed !== undefined && !timed.ok ? timed : ledger.addReceipt(bytes)
    const r = added.ok ? added.receipt : added
    if (!r.ok) {
      problems.push(`receipt ${position}: ${r.reason}`)
      return { position, ok: false, reason: r.reason, error: refusalInfo(r), requester: null, jobId: null, shard: null, index: null, headSize: null, credited: [], rejected: [], flagged: false }
    }
    const v = r.verdict.body
    return {
      position,
      ok: true,
      reason: null,
      error: null,
      requester: toHex(r.requester),
      jobId: toHex(v.jobId),
      shard: v.shard,
      index: r.index,
      headSize: r.head.body.size,
      credited: v.credited.map(toHex),
      rejected: v.rejected.map(toHex),
      flagged: false
    }
  })
  const snapshot = ledger.snapshot()
  const forkAt = new Map(snapshot.requesters.map(q => [q.requester, q.forkAt]))
  for (const r of receipts) {
    const at = r.requester === null ? null : forkAt.get(r.requester) ?? null
    if (at !== null && r.index !== null && r.index >= at) r.flagged = true
  }
  const forks = snapshot.forks.map((evidence): ForkReport => ({ evidence, description: describeFork(evidence), confirmed: checkForkEvidence(evidence).ok }))
  for (const f of forks) problems.push(`fork: ${f.description}${f.confirmed ? '' : ' (evidence did not re-check)'}`)
  return { verified: problems.length === 0, format, receipts, heads, forks, ledger: snapshot, problems }
}

/** Parses and verifies the text of a receipt file or bundle. A file that is not in the format is a Refusal. Never throws. */
export function verifyBundleText (text: unknown, options: VerifyOptions = {}): { ok: true, report: BundleReport } | Refusal {
  const parsed = parseBundle(text)
  if (!parsed.ok) return parsed
  return { ok: true, report: verifyBundle(parsed.bundle, parsed.format, options) }
}

const short = (hex: string): string => `${hex.slice(0, 16)}…`

/** The human summary printed by `essaim-verify`: one block per receipt, totals, forks, verdict line. */
export function formatReport (report: BundleReport): string {
  const lines: string[] = [`format ${report.format}: ${report.receipts.length} receipt(s), ${report.heads.length} extra tree head(s)`, '']
  for (const r of report.receipts) {
    if (!r.ok) { lines.push(`receipt ${r.position}: FAIL ${r.reason ?? ''}`); continue }
    lines.push(`receipt ${r.position}: ${r.flagged ? 'FLAGGED (after its requester\'s fork)' : 'OK'}`)
    lines.push(`  requester ${r.requester!}`)
    lines.push(`  job ${r.jobId!} shard ${r.shard!}, leaf ${r.index!} of ${r.headSize!}`)
    lines.push(`  credited ${r.credited.length === 0 ? '(none)' : r.credited.map(short).join(', ')}`)
    if (r.rejected.length > 0) lines.push(`  rejected ${r.rejected.map(short).join(', ')}`)
  }
  for (const h of report.heads) {
    lines.push(h.ok ? `head ${h.position}: OK size ${h.size!} by ${short(h.requester!)}` : `head ${h.position}: FAIL ${h.reason ?? ''}`)
  }
  lines.push('', 'credit per volunteer:')
  if (report.ledger.rows.length === 0) lines.push('  (none)')
  for (const row of report.ledger.rows) {
    lines.push(`  ${row.peer}  credit ${row.credit}, verdicts ${row.verdicts}, rejected ${row.rejected}${row.flaggedCredit > 0 ? `, flagged ${row.flaggedCredit}` : ''}`)
  }
  const t = report.ledger.totals
  lines.push(`totals: ${report.receipts.filter(r => r.ok).length}/${report.receipts.length} receipts OK, ${report.heads.filter(h => h.ok).length}/${report.heads.length} heads OK, credit ${t.credit}, flagged ${t.flaggedCredit}, forks ${report.forks.length}`)
  if (report.forks.length > 0) {
    lines.push('', 'fork evidence:')
    for (const f of report.forks) lines.push(`  ${f.description} [${f.confirmed ? 're-checked' : 'did NOT re-check'}]`)
  }
  lines.push('', report.verified ? 'VERIFIED: every signature, inclusion and consistency proof checks.' : `NOT VERIFIED (${report.problems.length} problem(s)):`)
  for (const p of report.problems) lines.push(`  ${p}`)
  return lines.join('\n') + '\n'
}
