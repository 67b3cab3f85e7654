/**
 * `npx essaim-verify <file.json>...`: verifies receipt files and bundles
 * offline (formats in src/core/receipt-bundle.ts) with the same core
 * function the app's Verify page uses (src/core/verify-bundle.ts), and
 * prints a human summary per file.
 *
 * Exit codes: 0 every file verified; 1 a file was read but something in it
 * does not verify (the summary names each exact reason); 2 usage error, an
 * unreadable file, or a file not in the receipt formats.
 */
import { readFile } from 'node:fs/promises'
import { formatReport, verifyBundleText } from '../src/core/verify-bundle.ts'

const USAGE = `usage: essaim-verify <receipt.json | bundle.json>...

Checks every signature, inclusion proof and tree-head consistency proof in
Essaim receipt files ("essaim-receipt/1") and bundles ("essaim-receipts/1"),
offline. Exit 0 only if everything verifies; 1 if something does not; 2 if a
file cannot be read or is not in the format.
`

const EXIT = { verified: 0, failed: 1, unusable: 2 } as const

/** Verifies each file, writing the summary to `out` and errors to `err`; returns the exit code. */
async function main (args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    (args.length === 0 ? err : out)(USAGE)
    return args.length === 0 ? EXIT.unusable : EXIT.verified
  }
  let code: number = EXIT.verified
  for (const path of args) {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (e) {
      err(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`)
      code = Math.max(code, EXIT.unusable)
      continue
    }
    const result = verifyBundleText(text)
    if (!result.ok) {
      err(`${path}: FAIL ${result.reason}\n`)
      code = Math.max(code, EXIT.unusable)
      continue
    }
    out(`== ${path}\n${formatReport(result.report)}`)
    if (!result.report.verified) code = Math.max(code, EXIT.failed)
  }
  return code
}

process.exitCode = await main(process.argv.slice(2), s => process.stdout.write(s), s => process.stderr.write(s))
