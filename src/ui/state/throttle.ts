/**
 * A view refresh driven by events that come in bursts (heartbeats from every
 * peer, connections opening together, results handed in): a request runs the
 * refresh at once unless it last ran less than `minGapMs` ago; then one run
 * follows at the end of that gap for every request made within it.
 */
export class Throttle {
  private lastRun = -Infinity
  private pending?: ReturnType<typeof setTimeout>

  constructor (
    private readonly run: () => void,
    private readonly minGapMs: number,
    private readonly now: () => number = () => performance.now()
  ) {}

  /** Runs now, or once at the end of the current gap. */
  request (): void {
    if (this.pending !== undefined) return
    const wait = this.lastRun + this.minGapMs - this.now()
    if (wait <= 0) { this.runNow(); return }
    this.pending = setTimeout(() => { this.runNow() }, wait)
  }

  /** Runs now (e.g. on a timer); a run waiting for the end of the gap is no longer needed. */
  runNow (): void {
    this.cancel()
    this.lastRun = this.now()
    this.run()
  }

  /** Drops a run waiting for the end of the gap. */
  cancel (): void {
    clearTimeout(this.pending)
    this.pending = undefined
  }
}
