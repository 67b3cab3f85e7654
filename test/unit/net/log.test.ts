/**
 * `/essaim/log/1.0.0` between real libp2p nodes (in-memory transport, Noise,
 * Yamux), the requester's node keyed with its Essaim identity as in the app:
 * a good page of receipts, a long log caught up page by page into a real
 * ledger, every forged or malformed reply refused (and the forger
 * penalised), and the server's caps (malformed requests, busy, per-peer
 * page budget).
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { lpStream } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import type { Stream } from '@libp2p/interface'
import { JUNK_BYTES } from '../vectors/junk.ts'
import { framed, rawExchange } from './raw-exchange.ts'
import { TestRequester, TS } from '../core/log-fixtures.ts'
import { generateIdentity, type Identity } from '../../../src/core/identity.ts'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { bytesEqual, toHex } from '../../../src/core/bytes.ts'
import { verdictCredited } from '../../../src/core/receipt.ts'
import { Ledger } from '../../../src/core/ledger.ts'
import { open, seal } from '../../../src/core/envelope.ts'
import {
  checkLogReply, logRefusal, logService, verifyLogReply, type LogHandler, type LogInit, type LogReply, type LogService
} from '../../../src/net/protocols/log.ts'
import { LOG_MAX_PAGE, LOG_MAX_REPLY_BYTES, PROTOCOL_LOG } from '../../../src/net/constants.ts'
import { PeerPenalties } from '../../../src/net/scoring.ts'
import { LogCatchUp } from '../../../src/swarm/log-catch-up.ts'
import { libp2pKey } from '../../../src/net/node.ts'

type Node = Libp2p<{ log: LogService }>
let n = 0

/** A node whose libp2p key is `identity` (the app's rule: one key for both). */
async function node (identity: Identity, init: LogInit = {}): Promise<Node> {
  return await createLibp2p({
    privateKey: libp2pKey(identity),
    addresses: { listen: [`/memory/essaim-log-${process.pid}-${++n}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { log: logService(init) }
  })
}

/** The app's handler shape: a receipt per asked index under the latest head, or the first page of those crediting the key asked. */
function serving (r: TestRequester): LogHandler {
  return async (_peer, request) => {
    const leaves = 'indices' in request
      ? request.indices
      : r.verdicts.map((_, i) => i).filter(i => i >= request.from && verdictCredited(r.verdicts[i]!).some(k => bytesEqual(k, request.credited))).slice(0, LOG_MAX_PAGE)
    return leaves.filter(i => i < r.log.size).map(i => r.receipt(i))
  }
}

const NOW = TS + 60_000

describe('log protocol', () => {
  const requesterId = generateIdentity()
  const observerId = generateIdentity()
  const r = new TestRequester(requesterId)
  let requester: Node
  let observer: Node
  let penalties: PeerPenalties

  beforeAll(async () => {
    for (let i = 0; i < 150; i++) r.verdict(i, [observerId])
    r.head()
    requester = await node(requesterId, { now: () => NOW, burst: 1_000 })
  })

  beforeEach(async () => {
    await observer?.stop()
    penalties = new PeerPenalties()
    observer = await node(observerId, { now: () => NOW, penalties })
    await observer.dial(requester.getMultiaddrs()[0]!)
    requester.services.log.serve(serving(r))
  })

  afterAll(async () => {
    await Promise.all([requester?.stop(), observer?.stop()])
  })

  /** Replaces the requester's handler with one writing `frame` as the reply to any request. */
  async function replyRaw (frame: Uint8Array): Promise<void> {
    await requester.unhandle(PROTOCOL_LOG)
    await requester.handle(PROTOCOL_LOG, async (stream: Stream) => {
      await lpStream(stream).read()
      stream.send(frame)
      await stream.close()
    }, { runOnLimitedConnection: false })
  }

  async function restore (): Promise<void> {
    await requester.unhandle(PROTOCOL_LOG)
    await requester.services.log.start()
  }

  /** Writes raw bytes on a log stream and returns the reply, or why there was none. */
  async function rawRequest (bytes: Uint8Array): Promise<LogReply | string> {
    return await rawExchange(observer, requester.peerId, PROTOCOL_LOG, bytes, { maxBytes: LOG_MAX_REPLY_BYTES, check: checkLogReply })
  }


  it('returns verified receipts of exactly the asked leaves', async () => {
    const got = await observer.services.log.fetchReceipts(requester.peerId, [0, 3, 7, 149])
    expect(got.map(g => g.receipt.index)).toEqual([0, 3, 7, 149])
    for (const g of got) expect(toHex(g.receipt.requester)).toBe(toHex(requesterId.publicKey))
    expect(penalties.reason(requester.peerId.toString())).toBeUndefined()
  })

  it('leaves out indices beyond the requester\'s head', async () => {
    const got = await observer.services.log.fetchReceipts(requester.peerId, [148, 149, 150, 151])
    expect(got.map(g => g.receipt.index)).toEqual([148, 149])
  })

  it('catches a long log up page by page into the ledger, each leaf once', async () => {
    const ledger = new Ledger()
    ledger.addReceipt(r.receipt(5))
    const pages: number[][] = []
    const catchUp = new LogCatchUp({
      ledger,
      fetchReceipts: async (peer, indices, options) => { pages.push(indices); return await observer.services.log.fetchReceipts(peer, indices, options) },
      take: async bytes => { ledger.addReceipt(bytes) },
      self: toHex(observerId.publicKey),
      log: logger('test:catch-up'),
      delayMs: 0
    })
    try {
      catchUp.seen(toHex(requesterId.publicKey), 150)
      await expect.poll(() => ledger.missingLeaves(toHex(requesterId.publicKey), 150, 1), { timeout: 20_000 }).toEqual([])
    } finally {
      catchUp.stop()
    }
    expect(pages.map(p => p.length)).toEqual([LOG_MAX_PAGE, LOG_MAX_PAGE, 149 - 2 * LOG_MAX_PAGE])
    expect(pages.flat()).not.toContain(5)
    const snap = ledger.snapshot()
    expect(snap.totals.verdicts).toBe(150)
    expect(snap.rows.find(row => row.peer === toHex(observerId.publicKey))?.credit).toBe(150)
    expect(snap.forks).toEqual([])
  })

  describe('refuses a forged reply and penalises the requester', () => {
    const other = new TestRequester(generateIdentity())
    other.verdict(0, [observerId])
    other.head()
    const forgeries: Array<[string, LogHandler]> = [
      ['a receipt signed by another requester', async () => [other.receipt(0)]],
      ['a receipt for a leaf not asked for', async () => [r.receipt(9)]],
      ['the same leaf twice', async () => [r.receipt(1), r.receipt(1)]],
      ['a receipt with a bad signature', async () => { const b = r.receipt(1); b[b.length - 1]! ^= 1; return [b] }],
      ['a head that is not a receipt', async () => [r.heads[0]!]],
      ['a receipt whose inclusion proof does not verify', async () => {
        const opened = open(r.receipt(1), { kinds: ['receipt'] })
        if (!opened.ok || opened.envelope.kind !== 'receipt') throw new Error('fixture')
        const body = opened.envelope.body
        // Re-sealed by the requester's own key with the proof of another leaf: signatures hold, the proof does not.
        return [seal('receipt', { ...body, proof: r.log.inclusionProof(2) }, requesterId, { seq: 9_999, ts: TS })]
      }]
    ]
    for (const [why, handler] of forgeries) {
      it(why, async () => {
        requester.services.log.serve(handler)
        const err = await observer.services.log.fetchReceipts(requester.peerId, [1, 2]).catch((e: Error) => e)
        expect((err as Error).name, why).toBe('LogProtocolError')
        expect(penalties.reason(requester.peerId.toString()), why).toBe('forged-log')
      })
    }
  })

  it('drops receipts refused only for their signed time, without penalty', async () => {
    const late = await node(observerId, { now: () => TS + 3 * 24 * 3600_000, penalties })
    try {
      await late.dial(requester.getMultiaddrs()[0]!)
      expect(await late.services.log.fetchReceipts(requester.peerId, [1, 2])).toEqual([])
      expect(penalties.reason(requester.peerId.toString())).toBeUndefined()
    } finally {
      await late.stop()
    }
  })

  it('refuses malformed, oversized and overlong replies', async () => {
    const cases: Array<[string, Uint8Array]> = [
      ['junk CBOR', framed(Uint8Array.from([0xa3, 0x61, 0x61, 0xff]))],
      ['wrong schema', framed(encodeCanonical({ receipts: 'x', error: null, extra: 1 }))],
      ['length prefix over the cap', framed(new Uint8Array(16), LOG_MAX_REPLY_BYTES + 1)],
      ['more receipts than asked', framed(encodeCanonical({ receipts: [r.receipt(1), r.receipt(2), r.receipt(3)], error: null }))],
      ['a frame cut short', framed(new Uint8Array(100)).subarray(0, 40)]
    ]
    try {
      for (const [why, frame] of cases) {
        await replyRaw(frame)
        const err = await observer.services.log.fetchReceipts(requester.peerId, [1, 2]).catch((e: Error) => e)
        expect((err as Error).name, why).toBe('LogProtocolError')
      }
    } finally {
      await restore()
    }
    expect((await observer.services.log.fetchReceipts(requester.peerId, [1])).length).toBe(1)
  })

  it('turns a refusal into LogRefusedError, without penalty', async () => {
    requester.services.log.serve(undefined)
    const err = await observer.services.log.fetchReceipts(requester.peerId, [1]).catch((e: Error) => e)
    expect((err as Error).name).toBe('LogRefusedError')
    expect((err as Error).message).toMatch(/not serving a log/)
    expect(penalties.reason(requester.peerId.toString())).toBeUndefined()
  })

  it('answers every hostile request with a refusal that says why, and keeps serving', async () => {
    const hostile: Array<[string, Uint8Array]> = [
      ...JUNK_BYTES,
      ['length prefix of 2^31', framed(new Uint8Array(16), 2 ** 31)],
      ['malformed varint', new Uint8Array(11).fill(0xff)],
      ['no index', framed(encodeCanonical({ indices: [] }))],
      ['indices out of order', framed(encodeCanonical({ indices: [3, 1] }))],
      ['indices repeated', framed(encodeCanonical({ indices: [1, 1] }))],
      ['too many indices', framed(encodeCanonical({ indices: Array.from({ length: LOG_MAX_PAGE + 1 }, (_, i) => i) }))],
      ['a negative index', framed(encodeCanonical({ indices: [-1] }))],
      ['an extra field', framed(encodeCanonical({ indices: [1], more: true }))],
      ['a credited key of 31 bytes', framed(encodeCanonical({ credited: new Uint8Array(31), from: 0 }))],
      ['a credited key and indices', framed(encodeCanonical({ credited: new Uint8Array(32), from: 0, indices: [1] }))],
      ['a credited key from a negative leaf', framed(encodeCanonical({ credited: new Uint8Array(32), from: -1 }))]
    ]
    for (const [why, bytes] of hostile) {
      const reply = await rawRequest(bytes)
      expect(reply, why).toMatchObject({ receipts: [] })
      expect((reply as LogReply).error, why).toMatch(/^request/)
    }
    expect((await observer.services.log.fetchReceipts(requester.peerId, [1])).length).toBe(1)
  })

  describe('receipts crediting a key', () => {
    const me = generateIdentity()
    const someone = generateIdentity()
    const mixed = new TestRequester(requesterId)
    // 200 verdicts; `me` is credited by the even ones (100: more than a page), `someone` by the rest.
    for (let i = 0; i < 200; i++) mixed.verdict(i, [i % 2 === 0 ? me : someone])
    mixed.head()

    it('answers them a page at a time from the leaf asked, each verified as crediting the key', async () => {
      requester.services.log.serve(serving(mixed))
      try {
        const first = await observer.services.log.fetchCredited(requester.peerId, me.publicKey, 0)
        expect(first.map(g => g.receipt.index)).toEqual(Array.from({ length: LOG_MAX_PAGE }, (_, i) => 2 * i))
        const rest = await observer.services.log.fetchCredited(requester.peerId, me.publicKey, 2 * LOG_MAX_PAGE - 1)
        expect(rest.map(g => g.receipt.index)).toEqual(Array.from({ length: 100 - LOG_MAX_PAGE }, (_, i) => 2 * (LOG_MAX_PAGE + i)))
        expect((await observer.services.log.fetchCredited(requester.peerId, someone.publicKey, 195)).map(g => g.receipt.index)).toEqual([195, 197, 199])
        expect(await observer.services.log.fetchCredited(requester.peerId, observerId.publicKey, 0)).toEqual([])
        expect(penalties.reason(requester.peerId.toString())).toBeUndefined()
      } finally {
        requester.services.log.serve(serving(r))
      }
    })

    const forgeries: Array<[string, LogHandler]> = [
      ['a receipt that credits another key', async () => [mixed.receipt(2), mixed.receipt(3)]],
      ['a receipt before the leaf asked from', async () => [mixed.receipt(0), mixed.receipt(2)]]
    ]
    for (const [why, handler] of forgeries) {
      it(`refuses ${why} and penalises the requester`, async () => {
        requester.services.log.serve(handler)
        try {
          const err = await observer.services.log.fetchCredited(requester.peerId, me.publicKey, 2).catch((e: Error) => e)
          expect((err as Error).name, why).toBe('LogProtocolError')
          expect(penalties.reason(requester.peerId.toString()), why).toBe('forged-log')
        } finally {
          requester.services.log.serve(serving(r))
        }
      })
    }

    it('lets a peer whose ledger is full for the requester catch up on all of them (LogCatchUp), a page at a time', async () => {
      requester.services.log.serve(serving(mixed))
      const ledger = new Ledger({ limits: { receiptsPerRequester: 1 } })
      ledger.addReceipt(mixed.receipt(1))
      const kept: number[] = []
      const catchUp = new LogCatchUp({
        ledger,
        fetchReceipts: async (peer, indices, options) => await observer.services.log.fetchReceipts(peer, indices, options),
        fetchCredited: async (peer, from, options) => await observer.services.log.fetchCredited(peer, me.publicKey, from, options),
        // As the volunteer does: the ledger keeps none of them, the peer keeps those crediting it.
        take: async bytes => { const added = ledger.addReceipt(bytes); if (added.ok) kept.push(added.receipt.index) },
        self: toHex(me.publicKey),
        log: logger('test:catch-up'),
        delayMs: 0
      })
      try {
        catchUp.seen(toHex(requesterId.publicKey), 200)
        await expect.poll(() => kept.length, { timeout: 20_000 }).toBe(100)
        expect(kept).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i))
        expect(ledger.snapshot().totals.verdicts).toBe(1)
      } finally {
        catchUp.stop()
        requester.services.log.serve(serving(r))
      }
    })

    it('fails a page with a receipt refused for its signed time, without penalty (the page would otherwise read as the last)', async () => {
      requester.services.log.serve(serving(mixed))
      const late = await node(observerId, { now: () => TS + 3 * 24 * 3600_000, penalties })
      try {
        await late.dial(requester.getMultiaddrs()[0]!)
        const err = await late.services.log.fetchCredited(requester.peerId, me.publicKey, 0).catch((e: Error) => e)
        expect((err as Error).name).toBe('LogProtocolError')
        expect((err as Error).message).toMatch(/refused for their signed time/)
        expect(penalties.reason(requester.peerId.toString())).toBeUndefined()
      } finally {
        await late.stop()
        requester.services.log.serve(serving(r))
      }
    })

    it('refuses a key that is not 32 bytes locally', async () => {
      await expect(observer.services.log.fetchCredited(requester.peerId, new Uint8Array(31), 0)).rejects.toThrow(RangeError)
    })
  })

  it('refuses bad requests locally before any stream', async () => {
    for (const indices of [[], [2, 1], Array.from({ length: LOG_MAX_PAGE + 1 }, (_, i) => i)]) {
      await expect(observer.services.log.fetchReceipts(requester.peerId, indices)).rejects.toThrow(RangeError)
    }
  })

  it('verifyLogReply refuses more receipts than indices', async () => {
    const checked = await verifyLogReply(requesterId.publicKey, { indices: [1] }, [r.receipt(1), r.receipt(2)], { now: NOW })
    expect(checked).toMatchObject({ ok: false })
  })

  it('logRefusal carries no receipt', () => {
    expect(logRefusal('x')).toEqual({ receipts: [], error: 'x' })
  })
})

describe('log protocol server caps', () => {
  const requesterId = generateIdentity()
  const r = new TestRequester(requesterId)
  for (let i = 0; i < 4; i++) r.verdict(i, [])
  r.head()

  it('gives each peer a page budget, refilled over time', async () => {
    let now = NOW
    const server = await node(requesterId, { now: () => now, burst: 2, refillMs: 1_000 })
    const client = await node(generateIdentity(), { now: () => NOW })
    try {
      server.services.log.serve(serving(r))
      await client.dial(server.getMultiaddrs()[0]!)
      await client.services.log.fetchReceipts(server.peerId, [0])
      await client.services.log.fetchReceipts(server.peerId, [1])
      const err = await client.services.log.fetchReceipts(server.peerId, [2]).catch((e: Error) => e)
      expect((err as Error).name).toBe('LogRefusedError')
      expect((err as Error).message).toMatch(/too often/)
      now += 1_000
      expect((await client.services.log.fetchReceipts(server.peerId, [2])).length).toBe(1)
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('answers "busy" beyond its concurrent serves', async () => {
    const server = await node(requesterId, { now: () => NOW, maxServesTotal: 1 })
    const client = await node(generateIdentity(), { now: () => NOW })
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    try {
      server.services.log.serve(async (_peer, request) => { await gate; return 'indices' in request ? request.indices.map(i => r.receipt(i)) : [] })
      await client.dial(server.getMultiaddrs()[0]!)
      const first = client.services.log.fetchReceipts(server.peerId, [0])
      await new Promise(resolve => setTimeout(resolve, 100))
      const err = await client.services.log.fetchReceipts(server.peerId, [1]).catch((e: Error) => e)
      expect((err as Error).name).toBe('LogRefusedError')
      expect((err as Error).message).toMatch(/busy/)
      release()
      expect((await first).length).toBe(1)
    } finally {
      release()
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('refuses an answer from a handler that failed, naming why', async () => {
    const server = await node(requesterId, { now: () => NOW })
    const client = await node(generateIdentity(), { now: () => NOW })
    try {
      server.services.log.serve(async () => { throw new Error('disk on fire') })
      await client.dial(server.getMultiaddrs()[0]!)
      await expect(client.services.log.fetchReceipts(server.peerId, [0])).rejects.toThrow(/disk on fire/)
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })
})
