/**
 * Where a shard's time goes: one requester page and one volunteer page in
 * real Chromium run a digits job, and this prints the CPU each process spent
 * per shard (from /proc, so Chromium's browser, GPU and network processes
 * count too) and, with --profile, each page's CPU profile summed by source
 * file and package (through the build's source maps), self and inclusive;
 * with --trace, a Chromium trace of the job, every busy thread's time by
 * trace event (self time: what the V8 profile calls "(program)", such as
 * layout, paint, IndexedDB and WebRTC calls, named).
 *
 * Not a bench section: it measures nothing the table keeps. It is the tool
 * behind the "where it goes" paragraphs of bench/README.md, for whoever takes
 * the per-shard path on next. It serves dist/: `npm run bench:profile` builds
 * first; after a build, `npx tsx bench/profile-shards.ts` runs it alone.
 *
 *   npm run bench:profile -- [--per 8] [--shards 256] [--repeats 2] [--profile] [--trace]
 *
 * Profiling and tracing cost the pages time of their own (about half again
 * per shard): compare runs with --profile or --trace against each other, and
 * the per-process CPU of runs without them against each other. Trace times
 * are wall time inside each event (a thread waiting in a blocking call counts).
 */
import '../scripts/node22-polyfills.ts'
import { readFileSync, existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { SourceMap } from 'node:module'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { openBenchBrowser } from './browser.ts'
import { arg } from '../scripts/bench.ts'
import { startRelayProcess } from '../test/e2e/support/swarm.ts'
import { digitFiles } from './swarm-inputs.ts'
import { attestedMs, digitsSwarm, jobTimes, postJob, steadySps, waitDone, workerUse } from './swarm-driver.ts'

/** CPU seconds so far of every Chromium process (and the relay), by pid, with its role. */
function processCpu (): Map<number, { role: string, s: number }> {
  const out = execFileSync('ps', ['-eo', 'pid=,args=']).toString()
  const cpu = new Map<number, { role: string, s: number }>()
  for (const line of out.trim().split('\n')) {
    const [pidText, ...rest] = line.trim().split(/\s+/)
    const args = rest.join(' ')
    if (!/chrom/.test(args) && !args.includes('scripts/relay')) continue
    const role = args.includes('scripts/relay') ? 'relay' : (/--utility-sub-type=(\S+)/.exec(args)?.[1] ?? /--type=(\S+)/.exec(args)?.[1] ?? 'browser')
    try {
      // utime + stime, in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the name may hold spaces).
      const fields = readFileSync(`/proc/${pidText}/stat`, 'utf8').split(') ')[1]!.split(' ')
      cpu.set(Number(pidText), { role, s: (Number(fields[11]) + Number(fields[12])) / 100 })
    } catch { /* gone meanwhile */ }
  }
  return cpu
}

function cpuSince (before: Map<number, { role: string, s: number }>): Map<number, { role: string, s: number }> {
  const delta = new Map<number, { role: string, s: number }>()
  for (const [pid, now] of processCpu()) delta.set(pid, { role: now.role, s: now.s - (before.get(pid)?.s ?? 0) })
  return delta
}

/** The renderer process of `page`: the one whose CPU time jumps while the page spins for a moment. */
async function rendererOf (page: Page): Promise<number | undefined> {
  const before = processCpu()
  await page.evaluate(() => { const t = performance.now(); while (performance.now() - t < 500) { /* spin */ } })
  const busiest = [...cpuSince(before)].filter(([, v]) => v.role === 'renderer').sort((a, b) => b[1].s - a[1].s)[0]
  return busiest?.[0]
}

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number }, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const maps = new Map<string, SourceMap | null>()
/** The source file (or npm package) a profile node's code comes from. */
function area (frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName}`
  const file = frame.url.split('/').pop()!
  if (!maps.has(file)) {
    const path = join('dist', 'assets', `${file}.map`)
    maps.set(file, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : null)
  }
  // An empty object, or one without a source, where the map has no segment.
  const source = maps.get(file)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string } | undefined
  const original = source?.originalSource ?? file
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(original)
  return pkg !== null ? pkg[1]! : original.replace(/^.*?\/src\//, 'src/')
}

/** Self and inclusive time (ms) by area: inclusive counts a sample once per area on its stack. */
function byArea (profile: CpuProfile): { total: number, self: Map<string, number>, inclusive: Map<string, number> } {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const areaOf = new Map(profile.nodes.map(n => [n.id, area(n.callFrame)]))
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    total += ms
    self.set(areaOf.get(id)!, (self.get(areaOf.get(id)!) ?? 0) + ms)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const a = areaOf.get(at)!
      if (!seen.has(a)) { seen.add(a); inclusive.set(a, (inclusive.get(a) ?? 0) + ms) }
    }
  })
  return { total, self, inclusive }
}

function printTop (title: string, m: Map<string, number>, total: number, shards: number, rows = 20): void {
  console.log(`  ${title}`)
  for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`    ${(100 * ms / total).toFixed(1).padStart(5)} %  ${(ms / shards).toFixed(2).padStart(6)} ms/shard  ${k}`)
  }
}

const per = Number(arg('per') ?? 8)
const shards = Number(arg('shards') ?? 256)
const repeats = Number(arg('repeats') ?? 2)
const profile = process.argv.includes('--profile')
const trace = process.argv.includes('--trace')
/** What the trace records: Chromium's own timeline (the DevTools Performance panel's), and the blocking calls and IPC it does not show. */
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', 'toplevel', 'webrtc', 'IndexedDB', 'base', 'mojom']

interface TraceEvent { ph: string, name: string, pid: number, tid: number, ts: number, dur?: number, args?: { name?: string } }

/**
 * Per thread of the trace: its time inside top-level events, and each event
 * name's self time (its duration less that of the events nested in it), in ms.
 */
function byThread (events: TraceEvent[]): Array<{ pid: number, thread: string, top: number, self: Map<string, number> }> {
  const names = new Map<string, string>()
  const spans = new Map<string, Array<[number, number, string]>>()
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`
    if (e.ph === 'M' && e.name === 'thread_name') names.set(key, e.args?.name ?? '')
    if (e.ph === 'X' && e.dur !== undefined) {
      const list = spans.get(key) ?? []
      list.push([e.ts, e.ts + e.dur, e.name])
      spans.set(key, list)
    }
  }
  return [...spans].map(([key, list]) => {
    list.sort((a, b) => a[0] - b[0] || b[1] - a[1])
    const self = new Map<string, number>()
    const open: Array<[number, number, string]> = []
    let top = 0
    for (const span of list) {
      while (open.length > 0 && open.at(-1)![1] <= span[0]) open.pop()
      const length = (span[1] - span[0]) / 1000
      const parent = open.at(-1)
      if (parent === undefined) top += length
      else self.set(parent[2], (self.get(parent[2]) ?? 0) - length)
      self.set(span[2], (self.get(span[2]) ?? 0) + length)
      open.push(span)
    }
    return { pid: Number(key.split(':')[0]), thread: names.get(key) ?? key, top, self }
  }).sort((a, b) => b.top - a.top)
}

const bb = await openBenchBrowser(4196)
const relay = await startRelayProcess()
try {
  const { requester, volunteers } = await digitsSwarm(bb.browser, bb.baseURL, relay.addr, 1)
  const volunteer = volunteers[0]!
  const roles = new Map<number, string>()
  const reqPid = await rendererOf(requester.page)
  const volPid = await rendererOf(volunteer.page)
  if (reqPid !== undefined) roles.set(reqPid, 'renderer: requester page')
  if (volPid !== undefined && volPid !== reqPid) roles.set(volPid, 'renderer: volunteer page (with its worker)')

  for (let r = 0; r < repeats; r++) {
    const { jobId } = await postJob(requester.page, 'digits', digitFiles(per * shards, `p${Date.now()}`), shards, per)
    const sessions = profile
      ? await Promise.all([requester.page, volunteer.page].map(async p => {
        const s = await p.context().newCDPSession(p)
        await s.send('Profiler.enable')
        await s.send('Profiler.start')
        return s
      }))
      : []
    if (trace) await bb.browser.startTracing(undefined, { categories: TRACE_CATEGORIES })
    const before = processCpu()
    const started = Date.now()
    await waitDone(requester.page, jobId)
    const seconds = (Date.now() - started) / 1000
    const cpu = cpuSince(before)
    const profiles = await Promise.all(sessions.map(async s => (await s.send('Profiler.stop')).profile as CpuProfile))
    const traced = trace ? JSON.parse((await bb.browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] } : undefined
    const times = await jobTimes(requester.page, jobId, shards)
    const use = workerUse(times, (await attestedMs(requester.page)).get(volunteer.peerId) ?? new Map(), per)
    console.log(`\nrun ${r + 1}: ${shards} shards of ${per} images in ${seconds.toFixed(1)} s, ${steadySps(times, per).sps.toFixed(0)} images/s, worker busy ${use.busy.toFixed(2)}`)
    console.log('  CPU per shard by process (ms)')
    let total = 0
    for (const [pid, v] of [...cpu].sort((a, b) => b[1].s - a[1].s)) {
      total += v.s
      if (v.s >= 0.01) console.log(`    ${(1000 * v.s / shards).toFixed(2).padStart(7)}  ${roles.get(pid) ?? v.role} (${pid})`)
    }
    console.log(`    ${(1000 * total / shards).toFixed(2).padStart(7)}  all`)
    profiles.forEach((p, i) => {
      const { total: ms, self, inclusive } = byArea(p)
      console.log(`  ${i === 0 ? 'requester' : 'volunteer'} page main thread: ${ms.toFixed(0)} ms profiled`)
      printTop('self time by source', self, ms, shards)
      printTop('inclusive time by source', inclusive, ms, shards)
    })
    if (traced !== undefined) {
      console.log('  traced threads, ms per shard inside events (self time by event below)')
      for (const t of byThread(traced.traceEvents).filter(t => t.top / shards >= 1)) {
        console.log(`    ${(t.top / shards).toFixed(2).padStart(7)}  ${roles.get(t.pid) ?? before.get(t.pid)?.role ?? `pid ${t.pid}`} / ${t.thread}`)
        for (const [name, ms] of [...t.self].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`        ${(ms / shards).toFixed(2).padStart(7)}  ${name}`)
      }
    }
  }
} finally {
  await bb.close()
  await relay.kill()
}
