/**
 * The peer table (src/ui/components/PeerList.svelte), rendered as the
 * server renders it: a big swarm's list draws its first 50 rows (PEERS_SHOWN)
 * (direct connections first, as the peer table sorts them) and offers the rest.
 */
import { describe, expect, it } from 'vitest'
import { render } from 'svelte/server'
import PeerList from '../../../src/ui/components/PeerList.svelte'
import type { PeerRow } from '../../../src/net/peer-table.ts'

const rows = (n: number): PeerRow[] => Array.from({ length: n }, (_, i) => ({ peerId: `12D3KooWpeer${String(i).padStart(6, '0')}`, link: i < 3 ? 'direct-webrtc' : 'gossip-only' }))
/** PEERS_SHOWN (tsc sees a .svelte module's default export only). */
const PEERS_SHOWN = 50
const count = (html: string, testid: string): number => html.split(`data-testid="${testid}"`).length - 1

describe('PeerList', () => {
  it('draws every peer of a small swarm, and no "show all"', () => {
    const { body } = render(PeerList, { props: { peers: rows(8), now: Date.now() } })
    expect(count(body, 'peer-row')).toBe(8)
    expect(count(body, 'peers-all')).toBe(0)
  })

  it(`draws the first ${PEERS_SHOWN} of 300 peers, says so, and offers the rest`, () => {
    const peers = rows(300)
    const { body } = render(PeerList, { props: { peers, now: Date.now() } })
    expect(count(body, 'peer-row')).toBe(PEERS_SHOWN)
    expect(body).toContain(`data-peer-id="${peers[0]!.peerId}"`)
    expect(body).not.toContain(`data-peer-id="${peers[PEERS_SHOWN]!.peerId}"`)
    expect(body).toMatch(/The first 50 of 300 peers/)
    expect(count(body, 'peers-all')).toBe(1)
  })
})
