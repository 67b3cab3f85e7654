/**
 * `/essaim/work/1.0.0` between real libp2p nodes (in-memory transport,
 * Noise, Yamux): a pull round trip, hostile frames answered at once with a
 * refusal naming why (never a bare reset), the per-peer bound on request
 * bytes read at once, and streams kept for pull after pull.
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { JUNK_BYTES } from '../vectors/junk.ts'
import { framed, rawExchange } from './raw-exchange.ts'
import { checkPullReply, refusal, work, type PullReply, type PullRequest, type WorkInit, type WorkService } from '../../../src/net/protocols/work.ts'
import { PROTOCOL_WORK, WORK_MAX_REPLY_BYTES, WORK_SMALL_REQUEST_BYTES } from '../../../src/net/constants.ts'
import { encodeCanonical } from '../../../src/core/cbor.ts'
import { decodeFrame } from '../../../src/net/protocols/exchange.ts'
import { lpStream } from '@libp2p/utils'

type Node = Libp2p<{ work: WorkService }>
let n = 0

async function node (init: WorkInit = {}): Promise<Node> {
  return await createLibp2p({
    addresses: { listen: [`/memory/essaim-work-${process.pid}-${++n}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { work: work(init) }
  })
}

describe('work protocol', () => {
  let requester: Node
  let volunteer: Node
  let pulls = 0

  beforeAll(async () => {
    requester = await node()
    volunteer = await node()
    requester.services.work.serve(async (_peer, request) => {
      pulls++
      return { assignments: [], received: request.results.map(r => r.lease), cancel: [], waitMs: 1_000, done: false, error: null }
    })
    await volunteer.dial(requester.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await Promise.all([requester?.stop(), volunteer?.stop()])
  })

  /** Writes raw bytes on a work stream (optionally keeping it open) and returns the reply frame, or why there was none. */
  async function raw (bytes: Uint8Array, options: { keepOpen?: boolean } = {}): Promise<PullReply | string> {
    return await rawExchange(volunteer, requester.peerId, PROTOCOL_WORK, bytes, { maxBytes: WORK_MAX_REPLY_BYTES, check: checkPullReply, ...options })
  }


  it('answers a pull', async () => {
    const reply = await volunteer.services.work.pull(requester.peerId, { job: new Uint8Array(32), capacity: 2, results: [] })
    expect(reply).toEqual({ assignments: [], received: [], cancel: [], waitMs: 1_000, done: false, error: null })
  })

  it('answers every hostile frame with a refusal that says why, and keeps serving', async () => {
    const before = pulls
    const hostile: Array<[string, Uint8Array]> = [
      ...JUNK_BYTES,
      ['length prefix of 2^31', framed(new Uint8Array(16), 2 ** 31)],
      ['malformed varint', new Uint8Array(11).fill(0xff)],
      ['frame cut short', framed(new Uint8Array(100)).subarray(0, 40)],
      ['malformed CBOR', framed(Uint8Array.from([0xa3, 0x61, 0x61, 0xff]))],
      ['wrong schema', framed(encodeCanonical({ job: new Uint8Array(32), capacity: 999, results: 'x', extra: 1 }))]
    ]
    for (const [why, bytes] of hostile) {
      const reply = await raw(bytes)
      expect(reply, why).toMatchObject({ assignments: [], done: false })
      expect((reply as PullReply).error, why).toMatch(/^request/)
    }
    expect(pulls).toBe(before)
    expect((await volunteer.services.work.pull(requester.peerId, { job: new Uint8Array(32), capacity: 1, results: [] })).error).toBeNull()
  })

  it('reads one large request per peer at a time: a second concurrent one over 64 KiB is refused', async () => {
    // The first stream announces 1 MiB and sends part of it, holding the large slot.
    const holder = await volunteer.dialProtocol(requester.peerId, PROTOCOL_WORK)
    try {
      holder.send(framed(new Uint8Array(1000), 1 << 20))
      await new Promise(resolve => setTimeout(resolve, 100))
      const big = framed(encodeCanonical({ job: new Uint8Array(32), capacity: 1, results: [{ lease: 1, output: new Uint8Array(WORK_SMALL_REQUEST_BYTES), attestation: null, error: null }] }))
      const refused = await raw(big)
      expect((refused as PullReply).error).toMatch(/too long/)
      // Small pulls still go through meanwhile.
      expect((await volunteer.services.work.pull(requester.peerId, { job: new Uint8Array(32), capacity: 1, results: [] })).error).toBeNull()
    } finally {
      holder.abort(new Error('done'))
    }
    // Once the holder is gone, a large request is read again.
    await new Promise(resolve => setTimeout(resolve, 100))
    const big = framed(encodeCanonical({ job: new Uint8Array(32), capacity: 1, results: [{ lease: 7, output: new Uint8Array(WORK_SMALL_REQUEST_BYTES), attestation: null, error: null }] }))
    expect(await raw(big)).toMatchObject({ error: null, received: [7] })
  })

  it('a pull that finishes never frees the large-read slot another stream of its peer holds', async () => {
    const gated = await node()
    const client = await node()
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    let calls = 0
    gated.services.work.serve(async (_peer, request) => {
      if (++calls === 1) await gate
      return { assignments: [], received: request.results.map(r => r.lease), cancel: [], waitMs: 1_000, done: false, error: null }
    })
    await client.dial(gated.getMultiaddrs()[0]!)
    const big = (lease: number): Uint8Array => framed(encodeCanonical({ job: new Uint8Array(32), capacity: 1, results: [{ lease, output: new Uint8Array(WORK_SMALL_REQUEST_BYTES), attestation: null, error: null }] }))
    const exchange = async (bytes: Uint8Array): Promise<PullReply | string> =>
      await rawExchange(client, gated.peerId, PROTOCOL_WORK, bytes, { maxBytes: WORK_MAX_REPLY_BYTES, check: checkPullReply })
    let holder: Awaited<ReturnType<typeof client.dialProtocol>> | undefined
    try {
      // A: a large pull, read in full, whose answer waits at the gate (its read slot is free again).
      const first = exchange(big(1))
      await new Promise(resolve => setTimeout(resolve, 100))
      // B: takes the large-read slot and keeps it (1 MiB announced, 1,000 bytes sent).
      holder = await client.dialProtocol(gated.peerId, PROTOCOL_WORK)
      holder.send(framed(new Uint8Array(1000), 1 << 20))
      await new Promise(resolve => setTimeout(resolve, 100))
      // A finishes: B still holds the slot, so another large request is refused.
      open()
      expect(await first).toMatchObject({ error: null, received: [1] })
      expect(((await exchange(big(2))) as PullReply).error).toMatch(/too long/)
    } finally {
      holder?.abort(new Error('done'))
      await Promise.all([gated.stop(), client.stop()])
    }
  })

  it('a pull ends after the service\'s timeout even when the caller passed a signal of its own', async () => {
    const silent = await node()
    const client = await node({ timeoutMs: 300 })
    silent.services.work.serve(async () => await new Promise<never>(() => {}))
    try {
      await client.dial(silent.getMultiaddrs()[0]!)
      const stays = new AbortController()
      await expect(client.services.work.pull(silent.peerId, { job: new Uint8Array(32), capacity: 1, results: [] }, { signal: stays.signal }))
        .rejects.toMatchObject({ name: 'TimeoutError' })
      expect(stays.signal.aborted).toBe(false)
    } finally {
      await Promise.all([silent.stop(), client.stop()])
    }
  })

  it('carries frames over 4 MiB both ways (lpStream\'s default read buffer would abort them)', async () => {
    const big = 6 * 1024 * 1024
    const other = await node()
    try {
      other.services.work.serve(async (_peer, request) => ({
        assignments: [{ lease: 9, shard: 0, input: new Uint8Array(big).fill(3) }],
        received: request.results.map(r => r.lease),
        cancel: [],
        waitMs: 0,
        done: false,
        error: null
      }))
      await volunteer.dial(other.getMultiaddrs()[0]!)
      const reply = await volunteer.services.work.pull(other.peerId, {
        job: new Uint8Array(32), capacity: 1, results: [{ lease: 4, output: new Uint8Array(big).fill(1), attestation: null, error: null }]
      })
      expect(reply.received).toEqual([4])
      expect(reply.assignments[0]!.input.length).toBe(big)
    } finally {
      await other.stop()
    }
  })

  it('keeps one stream for pull after pull, one more for each pull in flight at once, and closes them once unused', async () => {
    const server = await node()
    const client = await node({ keepMs: 300 })
    let calls = 0
    server.services.work.serve(async (_peer, request) => {
      calls++
      await new Promise(resolve => setTimeout(resolve, 20))
      return { assignments: [], received: request.results.map(r => r.lease), cancel: [], waitMs: 0, done: false, error: null }
    })
    const workStreams = (n: Node, peer: Node): string[] =>
      n.getConnections(peer.peerId).flatMap(c => c.streams).filter(st => st.protocol === PROTOCOL_WORK && st.status === 'open').map(st => st.id)
    const pull = async (lease: number): Promise<PullReply> =>
      await client.services.work.pull(server.peerId, { job: new Uint8Array(32), capacity: 1, results: [{ lease, output: new Uint8Array(8), attestation: null, error: null }] })
    try {
      await client.dial(server.getMultiaddrs()[0]!)
      expect((await pull(1)).received).toEqual([1])
      const first = workStreams(client, server)
      expect(first).toHaveLength(1)
      for (let lease = 2; lease <= 5; lease++) expect((await pull(lease)).received).toEqual([lease])
      expect(workStreams(client, server)).toEqual(first)
      // Two at once: the kept stream and one new; both kept afterwards.
      const both = await Promise.all([pull(6), pull(7)])
      expect(both.map(r => r.received)).toEqual([[6], [7]])
      expect(calls).toBe(7)
      expect(client.services.work.resting(server.peerId)).toBe(2)
      expect(workStreams(client, server)).toHaveLength(2)
      // Unused for keepMs: closed on both sides.
      await new Promise(resolve => setTimeout(resolve, 500))
      expect(client.services.work.resting(server.peerId)).toBe(0)
      expect(workStreams(client, server)).toEqual([])
      expect(workStreams(server, client)).toEqual([])
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('the requester closes a stream silent past its idleMs; the volunteer then pulls on a new one', async () => {
    const server = await node({ idleMs: 200 })
    const client = await node()
    server.services.work.serve(async () => ({ assignments: [], received: [], cancel: [], waitMs: 0, done: false, error: null }))
    try {
      await client.dial(server.getMultiaddrs()[0]!)
      expect((await client.services.work.pull(server.peerId, { job: new Uint8Array(32), capacity: 1, results: [] })).error).toBeNull()
      expect(client.services.work.resting(server.peerId)).toBe(1)
      await new Promise(resolve => setTimeout(resolve, 400))
      expect(client.services.work.resting(server.peerId)).toBe(0)
      expect((await client.services.work.pull(server.peerId, { job: new Uint8Array(32), capacity: 1, results: [] })).error).toBeNull()
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('a kept stream the requester ends without reading our pull: the pull goes again on a new stream', async () => {
    const server = await node()
    const client = await node()
    // Each stream answers one pull, then ends at the next without reading it
    // (what a requester closing an idle stream looks like when a pull crosses its close).
    let streams = 0
    await server.unhandle(PROTOCOL_WORK)
    await server.handle(PROTOCOL_WORK, async stream => {
      streams++
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(encodeCanonical(refusal('first on this stream')))
      await lp.read()
      await stream.close()
    })
    try {
      await client.dial(server.getMultiaddrs()[0]!)
      const ask = async (): Promise<PullReply> => await client.services.work.pull(server.peerId, { job: new Uint8Array(32), capacity: 1, results: [] })
      expect((await ask()).error).toBe('first on this stream')
      expect((await ask()).error).toBe('first on this stream')
      expect(streams).toBe(2)
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('a stream stays in step after a request that does not decode: the next one on it is answered', async () => {
    const stream = await volunteer.dialProtocol(requester.peerId, PROTOCOL_WORK)
    try {
      const lp = lpStream(stream, { maxDataLength: WORK_MAX_REPLY_BYTES })
      const read = async (): Promise<PullReply | string> => {
        const decoded = decodeFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray(), checkPullReply, WORK_MAX_REPLY_BYTES, 'reply')
        return decoded.ok ? decoded.value : decoded.reason
      }
      stream.send(framed(Uint8Array.from([0xa3, 0x61, 0x61, 0xff])))
      expect(((await read()) as PullReply).error).toMatch(/^request/)
      stream.send(framed(encodeCanonical({ job: new Uint8Array(32), capacity: 1, results: [{ lease: 3, output: null, attestation: null, error: 'x' }] })))
      expect(await read()).toMatchObject({ error: null, received: [3] })
      // A frame that cannot be read ends it, after the refusal.
      stream.send(framed(new Uint8Array(16), 2 ** 31))
      expect(((await read()) as PullReply).error).toMatch(/^request: frame too long/)
      expect(await lp.read({ signal: AbortSignal.timeout(5_000) }).catch((err: Error) => err.name)).toBe('UnexpectedEOFError')
    } finally {
      stream.abort(new Error('done'))
    }
  })

  it('a third pull in a row that hands nothing in, for the same job, within "wait", is answered only once the wait is over', async () => {
    const server = await node()
    const client = await node()
    const WAIT = 3_000
    const answered: number[] = []
    server.services.work.serve(async (_peer, request) => {
      answered.push(Date.now())
      return { assignments: [], received: request.results.map(r => r.lease), cancel: [], waitMs: WAIT, done: false, error: null }
    })
    const job = new Uint8Array(32)
    const other = new Uint8Array(32).fill(1)
    const pull = async (on: Uint8Array, results: PullRequest['results'] = []): Promise<number> => {
      const started = Date.now()
      await client.services.work.pull(server.peerId, { job: on, capacity: 4, results })
      return Date.now() - started
    }
    const quick = WAIT / 2
    try {
      await client.dial(server.getMultiaddrs()[0]!)
      // Two empty answers in a row, then neither a pull handing results in nor one for another job is held back.
      expect(await pull(job)).toBeLessThan(quick)
      expect(await pull(job)).toBeLessThan(quick)
      expect(await pull(job, [{ lease: 1, output: new Uint8Array(4), attestation: null, error: null }])).toBeLessThan(quick)
      expect(await pull(other)).toBeLessThan(quick)
      expect(await pull(job)).toBeLessThan(quick)
      expect(await pull(job)).toBeLessThan(quick)
      // The third in a row is.
      const before = answered.length
      expect(await pull(job)).toBeGreaterThanOrEqual(WAIT - 100)
      expect(answered.length).toBe(before + 1)
      expect(answered.at(-1)! - answered.at(-2)!).toBeGreaterThanOrEqual(WAIT - 100)
    } finally {
      await Promise.all([server.stop(), client.stop()])
    }
  })

  it('refusal() never hands out work', () => {
    expect(refusal('x')).toMatchObject({ assignments: [], done: false, error: 'x' })
  })
})
