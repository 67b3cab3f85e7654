/**
 * The UI's view of the requester, volunteer and ledger of this tab. It is
 * refreshed on runtime events (at most every 200 ms) and once a second (for
 * throughput and ETA). Pages read it through `getRuntime()`. The public
 * ledger is not copied here: the Ledger page asks for its snapshot on each
 * refresh (`tick`) while it is shown (cheap: the ledger keeps its counts as
 * receipts come, and the same snapshot while nothing changed; core/ledger.ts).
 */
import { getContext, setContext } from 'svelte'
import { startRuntime, type Runtime } from '../../swarm/runtime.ts'
import type { Peer } from '../../swarm/peer.ts'
import type { ComputeGate, VolunteerProblem, VolunteerStatus } from '../../swarm/volunteer.ts'
import type { JobView } from '../../swarm/requester.ts'
import { errorInfo, type ErrorInfo } from '../../core/errors.ts'
import { i18n } from '../i18n.svelte.ts'
import { readingTitle } from '../errors.ts'
import { Throttle } from './throttle.ts'

export class RuntimeState {
  runtime = $state.raw<Runtime | undefined>(undefined)
  failed = $state<ErrorInfo | undefined>(undefined)
  /** Replaced whole on each refresh (a job's meta can list thousands of files: no deep proxies). */
  jobs = $state.raw<JobView[]>([])
  jobErrors = $state<Record<string, ErrorInfo>>({})
  status = $state<VolunteerStatus>({ kind: 'stopped' })
  /** Receipts crediting this browser (the list itself stays in the volunteer: it can be long). */
  credit = $state(0)
  lastError = $state<VolunteerProblem | undefined>(undefined)
  /** Bumped on every refresh, so pages can re-read per-job details. */
  tick = $state(0)
  private timer?: ReturnType<typeof setInterval>
  /** Job updates and volunteer changes come in bursts (a pull hands in several results). */
  private readonly throttle = new Throttle(() => { this.refresh() }, 200)

  async start (peer: Peer, gate: ComputeGate, threads: number): Promise<void> {
    try {
      // A recognition job's title is worded in the language of the moment it is posted, like a submitted job's.
      const runtime = await startRuntime({ peer, gate, threads, readingTitle: r => readingTitle(i18n, r) })
      this.runtime = runtime
      const soon = (): void => { this.throttle.request() }
      runtime.requester.addEventListener('job:update', soon)
      runtime.requester.addEventListener('job:error', evt => {
        this.jobErrors = { ...this.jobErrors, [evt.detail.jobId]: evt.detail.error }
      })
      runtime.volunteer.addEventListener('volunteer:change', soon)
      runtime.ocr.addEventListener('ocr:update', soon)
      this.timer = setInterval(() => { this.throttle.runNow() }, 1000)
      // The loop waits on the power gate: nothing computes before consent.
      runtime.volunteer.contribute()
      this.throttle.runNow()
    } catch (err) {
      this.failed = errorInfo(err)
    }
  }

  refresh (): void {
    const r = this.runtime
    if (r === undefined) return
    this.jobs = r.requester.list()
    this.status = r.volunteer.status
    this.credit = r.volunteer.credit
    this.lastError = r.volunteer.lastError
    this.tick++
  }

  stop (): void {
    clearInterval(this.timer)
    this.throttle.cancel()
  }
}

const KEY = Symbol('essaim:runtime')

export function setRuntime (state: RuntimeState): void {
  setContext(KEY, state)
}

export function getRuntime (): RuntimeState {
  const state = getContext<RuntimeState | undefined>(KEY)
  if (state === undefined) throw new Error('getRuntime() called outside <App>')
  return state
}
