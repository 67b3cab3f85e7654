/**
 * `npm run bench`: runs every section in bench/sections/*.ts in one process,
 * so the ratios it reports are taken in one run on the same (noisy, shared)
 * machine. Writes bench/results.json (one flat object of stable keys) and
 * regenerates the table in bench/README.md between the marker comments.
 *
 * Usage: npm run bench [-- --only core,compute] [-- --repeats 5]
 */
import { execFileSync } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { join, basename } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BenchContext, BenchFigures, Spread } from '../bench/types.ts'
import { findChromium } from '../test/e2e/support/chromium.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const sectionsDir = join(root, 'bench', 'sections')

/** The value after `--name` on the command line, if given. */
export function arg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main (): Promise<void> {
  const only = arg('only')?.split(',')
  const repeats = Number(arg('repeats') ?? 5)
  const files = (await readdir(sectionsDir)).filter(f => f.endsWith('.ts')).sort()
  const results: BenchFigures = {}
  const spreads: Record<string, Spread> = {}
  const ctx: BenchContext = {
    repeats,
    spread (key, samples) {
      const m = median(samples)
      spreads[key] = { median: m, min: Math.min(...samples), max: Math.max(...samples), runs: samples.length }
      return m
    },
    log: line => process.stderr.write(`${line}\n`)
  }
  for (const file of files) {
    const name = basename(file, '.ts')
    if (only !== undefined && !only.includes(name)) continue
    ctx.log(`# bench section ${name}`)
    const mod = await import(pathToFileURL(join(sectionsDir, file)).href) as { default: (c: BenchContext) => Promise<BenchFigures> }
    Object.assign(results, await mod.default(ctx))
  }
  // A full run replaces results.json; a partial one (--only) updates its sections' keys in it.
  const previous = only === undefined ? {} : await readFile(join(root, 'bench', 'results.json'), 'utf8').then(t => JSON.parse(t) as Results).catch(() => ({}))
  const info = await machineInfo()
  const merged: Results = { ...previous, ...results, ...info }
  await writeFile(join(root, 'bench', 'results.json'), JSON.stringify(merged, null, 2) + '\n')
  const machine = `${info.machine_cores} cores (${info.machine_cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${info.machine_chromium}, onnxruntime-web ${info.machine_ort_web}`
  await writeTable(merged, spreads, machine, only)
  for (const line of targetLines(merged)) console.log(line)
  for (const [k, v] of Object.entries(results)) console.log(`${k}\t${v}`)
}

/** results.json: the figures, plus machine details as `machine_*` strings. */
type Results = Record<string, number | string>

async function machineInfo (): Promise<Record<string, string | number>> {
  let chromium = 'unknown'
  try { chromium = execFileSync(findChromium(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\s+built on.*$/s, '').trim() } catch { /* not installed */ }
  const ort = await readFile(join(root, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8').then(t => (JSON.parse(t) as { version: string }).version).catch(() => 'unknown')
  return { machine_cores: cpus().length, machine_cpu: cpus()[0]?.model ?? 'unknown', machine_node: process.version, machine_chromium: chromium, machine_ort_web: ort }
}

/** The issue's targets (bench/README.md): reported with how far each figure is, never asserted. */
const TARGETS: Array<{ key: string, op: '>=' | '<=', target: number, what: string }> = [
  { key: 'efficiency_digits', op: '>=', target: 0.95, what: '1-volunteer swarm ÷ bare onnxruntime-web, digits (256-image shards)' },
  { key: 'efficiency_digits_shard8', op: '>=', target: 0.95, what: 'the same with 8-image shards (a requester\'s choice: Submit suggests 128 or more)' },
  { key: 'efficiency_vad', op: '>=', target: 0.95, what: '1-volunteer swarm ÷ bare onnxruntime-web, VAD' },
  { key: 'efficiency_ocr_det', op: '>=', target: 0.95, what: 'the same for OCR text detection (one image per shard) ÷ its shard code alone' },
  { key: 'efficiency_ocr_rec', op: '>=', target: 0.95, what: 'the same for OCR text recognition (one line per shard)' },
  { key: 'scale2_digits', op: '>=', target: 1.7, what: '2 volunteers ÷ 1, one thread each, digits' },
  { key: 'scale2_vad', op: '>=', target: 1.7, what: '2 volunteers ÷ 1, one thread each, VAD' },
  { key: 'scale2_ocr_det', op: '>=', target: 1.7, what: '2 volunteers ÷ 1, one thread each, OCR detection' },
  { key: 'scale2_ocr_rec', op: '>=', target: 1.7, what: '2 volunteers ÷ 1, one thread each, OCR recognition' },
  { key: 'join_ms_p50', op: '<=', target: 2000, what: 'page load → first direct WebRTC connection (ms)' },
  { key: 'mesh5_ms', op: '<=', target: 5000, what: 'full mesh of 5 pages (ms)' },
  { key: 'gossip_ms_p95', op: '<=', target: 100, what: 'heartbeat signed ts → shown by a peer, p95 (ms)' },
  { key: 'first_verified_ms', op: '<=', target: 3000, what: 'job posted → first verified shard (ms)' },
  { key: 'signverify_share_digits_shard', op: '<=', target: 0.01, what: 'sign + verify ÷ 1-thread compute of one 256-image digits shard' },
  { key: 'signverify_share_digits_shard8', op: '<=', target: 0.01, what: 'the same for an 8-image shard' },
  { key: 'sim_wrong_accepted_33', op: '<=', target: 0, what: 'simulated: wrong results accepted at 33 % byzantine' },
  { key: 'sim_replication_factor_0', op: '<=', target: 1.3, what: 'simulated: effective replication at 0 % byzantine' }
]

function targetRows (results: Results): string[] {
  return TARGETS.map(t => {
    const v = results[t.key]
    if (typeof v !== 'number') return `| \`${t.key}\` | ${t.what} | ${t.op} ${fmt(t.target)} | not measured | |`
    const met = t.op === '>=' ? v >= t.target : v <= t.target
    const far = t.target === 0 ? fmt(v - t.target) : `${fmt(v / t.target)}× target`
    return `| \`${t.key}\` | ${t.what} | ${t.op} ${fmt(t.target)} | ${fmt(v)} | ${met ? 'met' : 'missed'} (${far}) |`
  })
}

function targetLines (results: Results): string[] {
  return ['targets:', ...targetRows(results).map(r => r.replace(/\|/g, ' ').replace(/\s+/g, ' ').trim())]
}

async function writeTable (results: Results, spreads: Record<string, Spread>, machine: string, only?: string[]): Promise<void> {
  const path = join(root, 'bench', 'README.md')
  const text = await readFile(path, 'utf8').catch(() => '# Benchmarks\n\n<!-- bench:start -->\n<!-- bench:end -->\n')
  // A run with --only measures some keys: the others keep the min – max the table showed for them.
  const previous = new Map<string, { median: string, spread: string }>()
  for (const m of text.matchAll(/^\| `([^`]+)` \| ([^|]*) \| ([^|]*) \|$/gm)) previous.set(m[1]!, { median: m[2]!.trim(), spread: m[3]!.trim() })
  const rows = Object.entries(results).filter(([k]) => !k.startsWith('machine_')).map(([k, v]) => {
    const s = spreads[k]
    const kept = previous.get(k)
    const spread = s !== undefined ? `${fmt(s.min)} – ${fmt(s.max)} (${s.runs} runs)` : kept !== undefined && kept.median === fmt(v) ? kept.spread : ''
    return `| \`${k}\` | ${fmt(v)} | ${spread} |`
  })
  const table = [
    `Last run: ${new Date().toISOString()} on ${machine}${only === undefined ? '' : ` (sections ${only.join(', ')}; the other figures are from earlier runs)`}.`, '',
    '### Targets (issue 9)', '', '| key | what | target | median | how far |', '|---|---|---|---|---|', ...targetRows(results), '',
    '### All figures', '', '| key | median | min – max |', '|---|---|---|', ...rows
  ].join('\n')
  const updated = text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`)
  await writeFile(path, updated)
}

function fmt (x: number | string): string {
  if (typeof x === 'string') return x
  if (!Number.isFinite(x)) return String(x)
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  return Number(x.toPrecision(3)).toString()
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(err => { console.error(err); process.exit(1) })
}
