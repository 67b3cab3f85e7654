/**
 * How long a digits job takes to verify, cut into shards of different sizes:
 * one requester page and two volunteer pages in real Chromium (one WASM
 * thread each), jobs posted on the Submit page (1 replica, quorum 1, no
 * canaries), timed from the manifest's signed `ts` to the last verdict's.
 * The cases run in turn, then in reverse order, for `--rounds` rounds.
 *
 * Not a bench section: it is the measurement behind Submit's suggested
 * images per shard (`suggestedPerShard`, src/swarm/job-kinds.ts; the
 * 2026-12-07 paragraph of bench/README.md). `npm run bench:shard-size` builds
 * first; after a build, `npx tsx bench/shard-size.ts` runs it alone.
 *
 *   npm run bench:shard-size -- [--cases 384x8,384x128,3072x64] [--rounds 2]
 */
import '../scripts/node22-polyfills.ts'
import { openBenchBrowser } from './browser.ts'
import { arg } from '../scripts/bench.ts'
import { startRelayProcess } from '../test/e2e/support/swarm.ts'
import { digitFiles } from './swarm-inputs.ts'
import { digitsSwarm, jobTimes, postJob, waitDone } from './swarm-driver.ts'

/** "images x per shard" pairs. */
const cases = (arg('cases') ?? '384x8,384x32,384x128,384x384,1024x22,1024x128,3072x64,3072x128,3072x256')
  .split(',').map(c => c.split('x').map(Number) as [number, number])
const rounds = Number(arg('rounds') ?? 2)

const bb = await openBenchBrowser(4197)
const relay = await startRelayProcess()
try {
  const { requester } = await digitsSwarm(bb.browser, bb.baseURL, relay.addr, 2)
  const taken = new Map<string, string[]>()
  for (let round = 0; round < rounds; round++) {
    for (const [images, per] of round % 2 === 0 ? cases : [...cases].reverse()) {
      const shards = Math.ceil(images / per)
      const { jobId } = await postJob(requester.page, 'digits', digitFiles(images, `r${round}-${images}-${per}-${Date.now()}`), shards, per)
      await waitDone(requester.page, jobId)
      const t = await jobTimes(requester.page, jobId, shards)
      const key = `${images} images in ${shards} shards of ${per}`
      const peers = new Set(t.verified.flatMap(v => v.peers)).size
      taken.set(key, [...(taken.get(key) ?? []), `${t.verified.at(-1)!.at - t.postedAt} ms (${peers} volunteer${peers === 1 ? '' : 's'})`])
      console.log(`${key}: ${taken.get(key)!.at(-1)!}`)
    }
  }
  console.log('\nposted → all verified, each round')
  for (const [key, runs] of taken) console.log(`  ${key}: ${runs.join(', ')}`)
} finally {
  await relay.kill()
  await bb.close()
}
