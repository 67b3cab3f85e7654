/**
 * The UI's view of this browser's peer: booting / ready / failed, our id,
 * relay status, the live peer list. It polls the peer once a second (RTTs
 * and heartbeat ages change continuously) and soon after relay/presence/connection events.
 * Pages read it through `getSwarm()`; nothing here is put on `window`.
 */
import { getContext, setContext } from 'svelte'
import { startPeer, type Peer } from '../../swarm/peer.ts'
import { peerTable, type PeerRow } from '../../net/peer-table.ts'
import { gossipScore } from '../../net/scoring.ts'
import type { RelayStatus } from '../../net/mesh.ts'
import type { PowerGate } from '../../swarm/power-gate.ts'
import { RuntimeState } from './runtime.svelte.ts'
import { DashboardState } from './dashboard.svelte.ts'
import { Throttle } from './throttle.ts'
import { errorInfo, type ErrorInfo } from '../../core/errors.ts'

export type Phase = { name: 'booting' } | { name: 'ready' } | { name: 'failed', error: ErrorInfo }

export class SwarmState {
  phase = $state<Phase>({ name: 'booting' })
  peerId = $state('')
  /** Where this profile's private key is: held by the browser, not extractable, or (a browser without native Ed25519) kept as bytes in its storage. */
  keyHeld = $state<'browser' | 'storage' | undefined>(undefined)
  relays = $state<RelayStatus[]>([])
  peers = $state<PeerRow[]>([])
  problems = $state<string[]>([])
  lastSeq = $state(0)
  now = $state(Date.now())
  peer: Peer | undefined
  readonly runtime = new RuntimeState()
  readonly dashboard = new DashboardState()
  private timer?: ReturnType<typeof setInterval>
  /** Peer events come in bursts (connections opening together, heartbeats from every peer). */
  private readonly throttle = new Throttle(() => { this.refresh() }, REFRESH_MIN_GAP_MS)

  directCount = $derived(this.peers.filter(p => p.link === 'direct-webrtc').length)

  /** Starts the peer, then the runtime; the volunteer computes only when `gate` allows (consent, power, one tab). */
  async boot (location: { search: string, origin: string }, gate: PowerGate): Promise<void> {
    try {
      const peer = await startPeer(location)
      this.peer = peer
      this.peerId = peer.node.peerId.toString()
      this.keyHeld = peer.identity.key !== undefined ? 'browser' : 'storage'
      this.problems = peer.config.problems
      const refresh = (): void => { this.throttle.request() }
      peer.node.services.mesh.addEventListener('relay:status', refresh)
      peer.node.services.presence.addEventListener('presence:heartbeat', refresh)
      peer.node.services.presence.addEventListener('presence:sent', refresh)
      peer.node.addEventListener('connection:open', refresh)
      peer.node.addEventListener('connection:close', refresh)
      this.timer = setInterval(refresh, 1000)
      this.throttle.runNow()
      this.phase = { name: 'ready' }
      await this.runtime.start(peer, gate, gate.state.budget.threads)
      if (this.runtime.runtime !== undefined) this.dashboard.attach(this.runtime.runtime.volunteer)
    } catch (err) {
      this.phase = { name: 'failed', error: errorInfo(err) }
    }
  }

  refresh (): void {
    const peer = this.peer
    if (peer === undefined) return
    const { mesh, presence, pubsub, penalties } = peer.node.services
    this.now = Date.now()
    this.relays = mesh.relayStatus()
    this.lastSeq = presence.lastSeq
    this.peers = peerTable(peer.node.getConnections(), presence.live(), id => mesh.isRelay(id), id => gossipScore(pubsub, id), id => penalties.reason(id))
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.throttle.cancel()
    this.dashboard.detach()
    this.runtime.stop()
    await this.runtime.runtime?.stop()
    await this.peer?.stop()
  }
}

/** Shortest gap between two refreshes of the view caused by peer events. */
const REFRESH_MIN_GAP_MS = 100

const KEY = Symbol('essaim:swarm')

export function setSwarm (swarm: SwarmState): void {
  setContext(KEY, swarm)
}

export function getSwarm (): SwarmState {
  const swarm = getContext<SwarmState | undefined>(KEY)
  if (swarm === undefined) throw new Error('getSwarm() called outside <App>')
  return swarm
}
