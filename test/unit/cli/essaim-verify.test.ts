/**
 * The offline verifier CLI (scripts/essaim-verify.js → .ts), run as a real
 * process on files made with the core functions: a good bundle and a single
 * receipt exit 0 with a summary; a tampered receipt, a broken head and a
 * forked requester exit 1 with the exact reason; unusable files exit 2.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeBundle, encodeReceiptFile } from '../../../src/core/receipt-bundle.ts'
import { toHex } from '../../../src/core/bytes.ts'
import { who } from '../core/fixtures.ts'
import { TestRequester } from '../core/log-fixtures.ts'

const CLI = fileURLToPath(new URL('../../../scripts/essaim-verify.js', import.meta.url))
const [alice, bob] = [who(1), who(2)]

interface Run { code: number, stdout: string, stderr: string }

async function run (...args: string[]): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
  })
}

let dir = ''
const file = async (name: string, text: string): Promise<string> => {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

const r = new TestRequester(who(40))
r.verdict(0, [alice, bob]); r.verdict(1, [alice]); r.head()
r.verdict(2, [bob]); r.head()
const receipts = [r.receipt(0), r.receipt(1), r.receipt(2)]

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'essaim-verify-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('essaim-verify', () => {
  it('a good bundle: exit 0, per-receipt summary, credit totals', async () => {
    const out = await run(await file('good.json', encodeBundle({ receipts, heads: r.heads })))
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('receipt 0: OK')
    expect(out.stdout).toContain(`requester ${toHex(r.identity.publicKey)}`)
    expect(out.stdout).toContain('shard 2, leaf 2 of 3')
    expect(out.stdout).toContain(`${toHex(alice.publicKey)}  credit 2`)
    expect(out.stdout).toContain('totals: 3/3 receipts OK, 2/2 heads OK, credit 4, flagged 0, forks 0')
    expect(out.stdout).toContain('VERIFIED')
  })

  it('a single receipt file: exit 0', async () => {
    const out = await run(await file('one.json', encodeReceiptFile(receipts[1]!)))
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('format essaim-receipt/1: 1 receipt(s)')
  })

  it('a receipt with one flipped byte: exit 1 and the exact reason', async () => {
    const bad = Uint8Array.from(receipts[1]!, (x, i) => i === receipts[1]!.length - 3 ? x ^ 0x01 : x)
    const out = await run(await file('tampered.json', encodeBundle({ receipts: [receipts[0]!, bad], heads: [] })))
    expect(out.code).toBe(1)
    expect(out.stdout).toContain('receipt 0: OK')
    expect(out.stdout).toMatch(/receipt 1: FAIL BadSignatureError: receipt: signature does not verify/)
    expect(out.stdout).toContain('NOT VERIFIED (1 problem(s))')
  })

  it('a requester that forked its log: exit 1, fork evidence shown, later credit flagged', async () => {
    const alt = r.fork(2)
    alt.verdict(9, [bob])
    alt.head()
    const out = await run(await file('fork.json', encodeBundle({ receipts: [...receipts, alt.receipt(2)], heads: [] })))
    expect(out.code).toBe(1)
    expect(out.stdout).toContain('receipt 2: FLAGGED')
    expect(out.stdout).toMatch(/signed two different roots for size 3 \[re-checked\]/)
    expect(out.stdout).toMatch(/proved two different verdicts at leaf 2 \[re-checked\]/)
  })

  it('not JSON, wrong format, bad base64, missing file: exit 2 with the reason', async () => {
    const cases: Array<[string, RegExp]> = [
      ['this is not json', /BundleFormatError: not JSON/],
      ['{"format":"essaim-receipts/2","receipts":[],"heads":[]}', /"format" is "essaim-receipts\/2"/],
      ['{"format":"essaim-receipts/1","receipts":["%%%"],"heads":[]}', /receipts\[0\] is not canonical padded base64/],
      ['{"format":"essaim-receipts/1","receipts":[]}', /missing field "heads"/]
    ]
    for (const [i, [text, reason]] of cases.entries()) {
      const out = await run(await file(`bad${i}.json`, text))
      expect(out.code).toBe(2)
      expect(out.stderr).toMatch(reason)
    }
    const missing = await run(join(dir, 'nope.json'))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/cannot read: ENOENT/)
    expect((await run()).code).toBe(2)
  })
})
