/**
 * The Volunteer dashboard's view of this tab's volunteer: shards computed
 * this session, a throughput series over the last ten minutes (in samples
 * when the shards' sample counts are known, src/ui/state/throughput.ts), and the job
 * and model last worked on. It follows the volunteer's own `done` list (new
 * entries after the last one seen, on `volunteer:change`, at most every
 * {@link COLLECT_MIN_GAP_MS}) and slides the chart's window every few
 * seconds, so an idle volunteer's chart decays to zero instead of freezing.
 */
import type { ShardDone, Volunteer } from '../../swarm/volunteer.ts'
import { ThroughputMeter, type ThroughputBin, type ThroughputUnit } from './throughput.ts'
import { Throttle } from './throttle.ts'

/** How often the chart's window slides when nothing happens. */
const SLIDE_MS = 5_000
/**
 * Shortest gap between two looks at the volunteer's work. It changes on
 * every shard (dozens a second with a small model): redrawing the dashboard
 * each time cost the volunteer's main thread ~4 ms per 256-image digits
 * shard (bench/README.md, session 24), on the cores its worker computes on.
 */
const COLLECT_MIN_GAP_MS = 250

export class DashboardState {
  /** Shards this tab computed since it booted. */
  shards = $state(0)
  /** What the chart counts: images, lines or audio windows when the shards say, else shards. */
  unit = $state<ThroughputUnit>('shards')
  series = $state<ThroughputBin[]>([])
  /** Work per minute over the last minute, in {@link unit}. */
  perMinute = $state(0)
  /** The shard finished last: its job and model. */
  last = $state<ShardDone | undefined>(undefined)
  readonly meter = new ThroughputMeter()
  private volunteer: Volunteer | undefined
  private seen: ShardDone | undefined
  private timer?: ReturnType<typeof setInterval>
  private readonly throttle = new Throttle(() => { this.collect() }, COLLECT_MIN_GAP_MS)
  private readonly onChange = (): void => { this.throttle.request() }

  constructor (private readonly now: () => number = Date.now) {
    this.slide()
  }

  /** Starts following `volunteer` (once per tab, after the runtime started). */
  attach (volunteer: Volunteer): void {
    this.detach()
    this.volunteer = volunteer
    volunteer.addEventListener('volunteer:change', this.onChange)
    this.timer = setInterval(() => { this.slide() }, SLIDE_MS)
    this.throttle.runNow()
  }

  detach (): void {
    this.volunteer?.removeEventListener('volunteer:change', this.onChange)
    this.volunteer = undefined
    clearInterval(this.timer)
    this.throttle.cancel()
  }

  private collect (): void {
    const done = this.volunteer?.done
    if (done === undefined || done.length === 0 || done[done.length - 1] === this.seen) return
    // The list only grows at its end (and is trimmed at its start), so the new
    // entries follow the last one we saw; if that was trimmed away, all are new.
    const from = this.seen === undefined ? 0 : done.lastIndexOf(this.seen) + 1
    for (const d of done.slice(from)) this.meter.record(d.at, 1, d.samples)
    this.seen = done[done.length - 1]
    this.last = this.seen
    this.shards = this.meter.total
    this.slide()
  }

  private slide (): void {
    const now = this.now()
    this.unit = this.meter.unit(now)
    this.series = this.meter.series(now, this.unit)
    this.perMinute = this.meter.perMinute(now, this.unit)
  }
}
