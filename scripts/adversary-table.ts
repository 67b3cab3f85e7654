/**
 * Regenerates the adversarial results table in README.md from
 * test/adversary/results.json (written by test/e2e/adversary.e2e.ts and
 * test/e2e/churn.e2e.ts, one
 * entry per attack, replaced at each run). Only the text between the
 * `<!-- adversary:start -->` and `<!-- adversary:end -->` markers changes.
 *
 * Usage: npx tsx scripts/adversary-table.ts [--check]   (--check: exit 1 if README is stale)
 */
import { readFileSync, writeFileSync } from 'node:fs'

interface AttackResult { attack: string, outcome: string, figure: string }

const START = '<!-- adversary:start -->'
const END = '<!-- adversary:end -->'

function cell (text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function table (results: AttackResult[]): string {
  const rows = results.map(r => `| ${cell(r.attack)} | ${cell(r.outcome)} | ${cell(r.figure)} |`)
  return [
    'Measured by `test/e2e/adversary.e2e.ts` and `test/e2e/churn.e2e.ts` (real Chromium tabs, Node adversary peers on the app\'s own libp2p stack, real WebRTC); regenerate with `npx tsx scripts/adversary-table.ts`.',
    '',
    '| Attack | What the swarm did | Figure |',
    '| --- | --- | --- |',
    ...rows
  ].join('\n')
}

function main (): void {
  const results = JSON.parse(readFileSync('test/adversary/results.json', 'utf8')) as AttackResult[]
  const readme = readFileSync('README.md', 'utf8')
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`)
  const next = `${readme.slice(0, start + START.length)}\n${table(results)}\n${readme.slice(end)}`
  if (process.argv.includes('--check')) {
    if (next !== readme) { console.error('README.md adversary table is stale'); process.exit(1) }
    return
  }
  writeFileSync('README.md', next)
}

main()
