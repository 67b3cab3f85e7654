/**
 * The live peer list shown on the Volunteer page, derived (never stored)
 * from the node's open connections and the last heartbeat of each peer.
 * A peer is listed while we hold a connection to it or its heartbeat is
 * fresh; closing its tab drops it at once (connection close) or, if we only
 * heard of it through gossip, within a few missed heartbeats.
 */
import type { Connection } from '@libp2p/interface'
import type { PresenceBody } from '../core/schemas.ts'
import { isDirectWebRTC } from './mesh.ts'
import type { PenaltyReason } from './scoring.ts'

export type LinkKind = 'direct-webrtc' | 'relayed' | 'other' | 'gossip-only'

export interface PeerRow {
  peerId: string
  link: LinkKind
  /** Round-trip time in ms of the best open connection, when measured. */
  rttMs?: number
  /** Our gossipsub score of the peer (scoring.ts): below the graylist threshold we drop everything it sends. */
  score?: number
  /** What we caught the peer doing (scoring.ts `PeerPenalties`), if anything. */
  penalty?: PenaltyReason
  lastHeartbeat?: { seq: number, ts: number, receivedAt: number, body: PresenceBody }
}

export interface HeartbeatLike { peerId: string, seq: number, ts: number, receivedAt: number, body: PresenceBody }

type ConnLike = Pick<Connection, 'remotePeer' | 'remoteAddr' | 'limits' | 'rtt' | 'status'>

const rank: Record<LinkKind, number> = { 'direct-webrtc': 3, other: 2, relayed: 1, 'gossip-only': 0 }

function linkOf (conn: ConnLike): LinkKind {
  if (isDirectWebRTC(conn)) return 'direct-webrtc'
  if (conn.limits !== undefined || conn.remoteAddr.toString().includes('/p2p-circuit')) return 'relayed'
  return 'other'
}

/**
 * Builds the rows, best link first per peer; relays are not peers. `scoreOf`
 * adds each peer's gossipsub score, `penaltyOf` what we caught it doing.
 */
export function peerTable (connections: ConnLike[], heartbeats: HeartbeatLike[], isRelay: (peerId: string) => boolean, scoreOf?: (peerId: string) => number | undefined, penaltyOf?: (peerId: string) => PenaltyReason | undefined): PeerRow[] {
  const rows = new Map<string, PeerRow>()
  for (const conn of connections) {
    if (conn.status !== 'open') continue
    const peerId = conn.remotePeer.toString()
    if (isRelay(peerId)) continue
    const link = linkOf(conn)
    const row = rows.get(peerId)
    if (row === undefined || rank[link] > rank[row.link]) {
      rows.set(peerId, { peerId, link, ...(conn.rtt !== undefined ? { rttMs: conn.rtt } : {}) })
    }
  }
  for (const hb of heartbeats) {
    const row = rows.get(hb.peerId) ?? { peerId: hb.peerId, link: 'gossip-only' as const }
    row.lastHeartbeat = { seq: hb.seq, ts: hb.ts, receivedAt: hb.receivedAt, body: hb.body }
    rows.set(hb.peerId, row)
  }
  if (scoreOf !== undefined) {
    for (const row of rows.values()) {
      const score = scoreOf(row.peerId)
      if (score !== undefined) row.score = score
    }
  }
  if (penaltyOf !== undefined) {
    for (const row of rows.values()) {
      const penalty = penaltyOf(row.peerId)
      if (penalty !== undefined) row.penalty = penalty
    }
  }
  return [...rows.values()].sort((a, b) => rank[b.link] - rank[a.link] || a.peerId.localeCompare(b.peerId))
}
