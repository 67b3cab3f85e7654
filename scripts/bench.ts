/**
 * `npm run bench`: runs every section in bench/sections/*.ts in one process,
 * so the ratios it reports are taken in one run on the same (noisy, shared)
 * machine. Writes bench/results.json (one flat object of stable keys) and
 * regenerates the table in bench/README.md between the marker comments.
 *
 * Usage: npm run bench [-- --only core,compute] [-- --repeats 5]
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { join, basename } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BenchContext, BenchFigures, Spread } from '../bench/types.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const sectionsDir = join(root, 'bench', 'sections')

function arg (name: string): string | undefined {
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
  const previous = await readFile(join(root, 'bench', 'results.json'), 'utf8').then(t => JSON.parse(t) as BenchFigures).catch(() => ({}))
  const merged = { ...previous, ...results }
  await writeFile(join(root, 'bench', 'results.json'), JSON.stringify(merged, null, 2) + '\n')
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  await writeTable(merged, spreads, machine)
  for (const [k, v] of Object.entries(results)) console.log(`${k}\t${v}`)
}

async function writeTable (results: BenchFigures, spreads: Record<string, Spread>, machine: string): Promise<void> {
  const path = join(root, 'bench', 'README.md')
  const text = await readFile(path, 'utf8').catch(() => '# Benchmarks\n\n<!-- bench:start -->\n<!-- bench:end -->\n')
  const rows = Object.entries(results).map(([k, v]) => {
    const s = spreads[k]
    const spread = s === undefined ? '' : `${fmt(s.min)} – ${fmt(s.max)} (${s.runs} runs)`
    return `| \`${k}\` | ${fmt(v)} | ${spread} |`
  })
  const table = [`Last run: ${new Date().toISOString()} on ${machine}.`, '', '| key | median | min – max |', '|---|---|---|', ...rows].join('\n')
  const updated = text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`)
  await writeFile(path, updated)
}

function fmt (x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  return Number(x.toPrecision(3)).toString()
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(err => { console.error(err); process.exit(1) })
}
