/**
 * State of the Verify page: the file the user dropped or picked and what
 * verifying it gave. All checking is `verifyBundleText` from src/core, the
 * same function the `essaim-verify` CLI runs, so the page and the CLI cannot
 * disagree; this module only reads the file and keeps the outcome. It never
 * throws: an unreadable, oversized, non-JSON or wrong-format file becomes an
 * `error` state with the exact reason.
 */
import { BUNDLE_LIMITS } from '../../core/constants.ts'
import { refusalInfo, verifyBundleText, type BundleReport } from '../../core/verify-bundle.ts'
import { BundleFormatError, errorInfo, errorLine, type ErrorInfo } from '../../core/errors.ts'

export type VerifyPhase =
  | { name: 'idle' }
  | { name: 'reading', file: string }
  | { name: 'error', file: string, error: ErrorInfo, reason: string }
  | { name: 'done', file: string, report: BundleReport }

/** What the page needs from a dropped or picked file (a `File` has all of it). */
export interface TextFile {
  name: string
  size: number
  text: () => Promise<string>
}

export class VerifyState {
  phase = $state<VerifyPhase>({ name: 'idle' })
  /** Counts files handled, so a result for an older file never overwrites a newer one. */
  private generation = 0

  /** Reads and verifies one file. Never throws. */
  async verifyFile (file: TextFile): Promise<void> {
    const generation = ++this.generation
    this.phase = { name: 'reading', file: file.name }
    if (file.size > BUNDLE_LIMITS.chars) {
      this.failed(file.name, errorInfo(new BundleFormatError(`file of ${file.size} bytes exceeds ${BUNDLE_LIMITS.chars}`, { code: 'too-large', params: { chars: file.size, max: BUNDLE_LIMITS.chars } })))
      return
    }
    let text: string
    try {
      text = await file.text()
    } catch (err) {
      if (generation === this.generation) this.failed(file.name, errorInfo(err))
      return
    }
    if (generation !== this.generation) return
    this.verifyText(file.name, text)
  }

  /** Verifies the text of a receipt file or bundle. Never throws. */
  verifyText (name: string, text: string): void {
    const result = verifyBundleText(text)
    if (result.ok) this.phase = { name: 'done', file: name, report: result.report }
    else this.phase = { name: 'error', file: name, error: refusalInfo(result), reason: result.reason }
  }

  private failed (file: string, error: ErrorInfo): void {
    this.phase = { name: 'error', file, error, reason: errorLine(error) }
  }

  reset (): void {
    this.generation++
    this.phase = { name: 'idle' }
  }
}
