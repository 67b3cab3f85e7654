/**
 * Relay configuration: the served file plus repeatable `?relay=` parameters,
 * and the dial gate that allows loopback/private addresses only when the
 * file says so.
 */
import { describe, it, expect } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { parseRelay, resolveNetConfig, MAX_RELAYS } from '../../../src/net/config.ts'
import { dialAllowed } from '../../../src/net/node.ts'

const ID = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const WS = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`
const WSS = `/dns4/relay.example/tcp/443/wss/p2p/${ID}`

describe('parseRelay', () => {
  it('accepts ws and wss relay addresses ending in a peer id', () => {
    expect(parseRelay(WS).ok).toBe(true)
    expect(parseRelay(` ${WSS} `).ok).toBe(true)
  })

  it.each([
    ['', 'empty relay address'],
    ['not-a-multiaddr', 'is not a multiaddr'],
    ['/ip4/1.2.3.4/tcp/80', 'is not a WebSocket address'],
    ['/ip4/1.2.3.4/tcp/80/ws', 'does not end with /p2p/'],
    ['/ip4/999.1.1.1/tcp/80/ws', 'is not a multiaddr'],
    ['/' + 'x'.repeat(600), 'longer than 512']
  ])('rejects %j with a clear reason', (text, reason) => {
    const r = parseRelay(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(reason)
  })
})

describe('resolveNetConfig', () => {
  it('merges URL relays first, then the file, without duplicates', () => {
    const params = new URLSearchParams()
    params.append('relay', WSS)
    params.append('relay', WS)
    const cfg = resolveNetConfig({ relays: [WS], allowPrivateAddresses: true }, params)
    expect(cfg.relays.map(r => r.toString())).toEqual([WSS, WS])
    expect(cfg.allowPrivateAddresses).toBe(true)
    expect(cfg.problems).toEqual([])
  })

  it('reports every bad entry and keeps the good ones', () => {
    const params = new URLSearchParams('relay=garbage&relay=' + encodeURIComponent(WS))
    const cfg = resolveNetConfig({ relays: [42, '/ip4/1.2.3.4/tcp/1'] }, params)
    expect(cfg.relays).toHaveLength(1)
    expect(cfg.problems).toHaveLength(3)
    expect(cfg.problems[0]).toMatch(/^\?relay=: "garbage" is not a multiaddr/)
    expect(cfg.problems[1]).toBe('essaim.config.json: relay entries must be strings')
    expect(cfg.allowPrivateAddresses).toBe(false)
  })

  it('refuses a non-list relays field and anything but `true` for private addresses', () => {
    const cfg = resolveNetConfig({ relays: WS, allowPrivateAddresses: 'yes' }, new URLSearchParams())
    expect(cfg.relays).toEqual([])
    expect(cfg.allowPrivateAddresses).toBe(false)
    expect(cfg.problems[0]).toContain('"relays" must be a list')
  })

  it(`caps the list at ${MAX_RELAYS} relays`, () => {
    const params = new URLSearchParams()
    for (let port = 1; port <= MAX_RELAYS + 2; port++) params.append('relay', `/ip4/10.0.0.1/tcp/${port}/ws/p2p/${ID}`)
    const cfg = resolveNetConfig(undefined, params)
    expect(cfg.relays).toHaveLength(MAX_RELAYS)
    expect(cfg.problems.join()).toContain(`more than ${MAX_RELAYS} relays`)
  })
})

describe('dialAllowed: private addresses only when the config says so', () => {
  const circuit = (relay: string): string => `${relay}/p2p-circuit/webrtc/p2p/${ID}`
  const publicAddrs = [WSS, `/ip4/8.8.8.8/tcp/443/wss/p2p/${ID}`, circuit(WSS)]
  const privateAddrs = [
    WS, // loopback, and insecure ws
    `/ip4/192.168.1.2/tcp/443/wss/p2p/${ID}`,
    `/ip4/10.1.2.3/tcp/443/wss/p2p/${ID}`,
    `/ip6/::1/tcp/443/wss/p2p/${ID}`,
    `/dns4/localhost/tcp/443/wss/p2p/${ID}`,
    circuit(WS), // a WebRTC dial signalled through a loopback relay
    `/ip4/8.8.8.8/tcp/80/ws/p2p/${ID}` // public, but insecure ws
  ]

  it('a config without the flag (a public deployment) refuses loopback, private and insecure ws addresses', () => {
    const cfg = resolveNetConfig({ relays: [WS] }, new URLSearchParams())
    expect(cfg.allowPrivateAddresses).toBe(false)
    for (const a of privateAddrs) expect([a, dialAllowed(multiaddr(a), cfg.allowPrivateAddresses)]).toEqual([a, false])
    for (const a of publicAddrs) expect([a, dialAllowed(multiaddr(a), cfg.allowPrivateAddresses)]).toEqual([a, true])
  })

  it('a config with `allowPrivateAddresses: true` (npm start, tests) allows them all', () => {
    const cfg = resolveNetConfig({ relays: [WS], allowPrivateAddresses: true }, new URLSearchParams())
    for (const a of [...privateAddrs, ...publicAddrs]) expect([a, dialAllowed(multiaddr(a), cfg.allowPrivateAddresses)]).toEqual([a, true])
  })

  it('a URL parameter cannot turn it on', () => {
    expect(resolveNetConfig(undefined, new URLSearchParams('allowPrivateAddresses=true&relay=' + encodeURIComponent(WS))).allowPrivateAddresses).toBe(false)
  })
})
