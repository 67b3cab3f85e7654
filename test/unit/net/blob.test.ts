/**
 * `/essaim/blob/1.0.0` between real libp2p nodes (in-memory transport, Noise,
 * Yamux): a good transfer with progress and resume, every refusal the client
 * must turn into a typed error (not found, wrong bytes, oversize before any
 * allocation, extra bytes, busy), and cancellation and timeouts.
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { JUNK_BYTES } from '../vectors/junk.ts'
import { blob, encodeBlobHeader, encodeBlobRequest, BlobStatus, type BlobInit, type BlobService, type BlobStore } from '../../../src/net/protocols/blob.ts'
import { PROTOCOL_BLOB } from '../../../src/net/constants.ts'
import { PeerPenalties } from '../../../src/net/scoring.ts'
import { sha256, toHex } from '../../../src/core/bytes.ts'

/** Deterministic bytes (xorshift), so a failure is reproducible. */
function bytesOf (n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** A store over a map; `gate`, when set, holds every `get` until it resolves. */
class MapStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>()
  gate?: Promise<void>
  gets = 0
  add (bytes: Uint8Array, as = toHex(sha256(bytes))): string {
    this.blobs.set(as, bytes)
    return as
  }

  async get (hash: string): Promise<Uint8Array | undefined> {
    this.gets++
    if (this.gate !== undefined) await this.gate
    return this.blobs.get(hash)
  }

  async has (hash: string): Promise<boolean> {
    return this.blobs.has(hash)
  }
}

type Node = Libp2p<{ blob: BlobService }>
let n = 0

async function node (init: BlobInit = {}): Promise<Node> {
  return await createLibp2p({
    addresses: { listen: [`/memory/essaim-blob-${process.pid}-${++n}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { blob: blob(init) }
  })
}

async function until (cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

function reason (p: Promise<unknown>): Promise<Error> {
  return p.then(() => { throw new Error('expected a rejection') }, (err: Error) => err)
}

describe('blob protocol', () => {
  const store = new MapStore()
  let server: Node
  let client: Node
  let other: Node
  const payload = bytesOf(300 * 1024 + 17)
  let hash: string

  beforeAll(async () => {
    hash = store.add(payload)
    server = await node({ store, maxServesPerPeer: 1, maxServesTotal: 2 })
    client = await node({ idleTimeoutMs: 2_000 })
    other = await node()
    await client.dial(server.getMultiaddrs()[0]!)
    await other.dial(server.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await Promise.all([server?.stop(), client?.stop(), other?.stop()])
  })

  it('fetches a blob in 64 KiB frames with progress, verified', async () => {
    const seen: Array<{ received: number, total: number }> = []
    const got = await client.services.blob.fetchBlob(server.peerId, hash, { onProgress: p => seen.push(p), expectedBytes: payload.length })
    expect(got).toEqual(payload)
    expect(seen.length).toBe(1 + Math.ceil(payload.length / (64 * 1024)))
    expect(seen.every(p => p.total === payload.length)).toBe(true)
    expect(seen.map(p => p.received)).toEqual([...seen.map(p => p.received)].sort((a, b) => a - b))
    expect(seen.at(-1)?.received).toBe(payload.length)
  })

  it('resumes from a prefix already held and still verifies the whole', async () => {
    const seen: number[] = []
    const prefix = payload.slice(0, 100_000)
    const got = await client.services.blob.fetchBlob(server.peerId, hash, { prefix, onProgress: p => seen.push(p.received) })
    expect(got).toEqual(payload)
    expect(seen[0]).toBe(100_000)
    const wrongPrefix = prefix.slice()
    wrongPrefix[5] = wrongPrefix[5]! ^ 1
    expect((await reason(client.services.blob.fetchBlob(server.peerId, hash, { prefix: wrongPrefix }))).name).toBe('BlobHashMismatchError')
  })

  it('reports a blob the peer does not have', async () => {
    const err = await reason(client.services.blob.fetchBlob(server.peerId, 'ab'.repeat(32)))
    expect(err.name).toBe('BlobNotFoundError')
  })

  it('rejects a peer serving other bytes under the hash', async () => {
    const claimed = toHex(sha256(new Uint8Array([1, 2, 3])))
    store.add(bytesOf(5000, 7), claimed)
    const err = await reason(client.services.blob.fetchBlob(server.peerId, claimed))
    expect(err.name).toBe('BlobHashMismatchError')
    expect(err).toMatchObject({ peer: server.peerId.toString(), expected: claimed, actual: toHex(sha256(bytesOf(5000, 7))) })
  })

  it('reports a peer serving wrong bytes to the penalties (graylisted), but not for a wrong prefix of our own', async () => {
    const penalties = new PeerPenalties()
    const judge = await node({ penalties })
    try {
      await judge.dial(server.getMultiaddrs()[0]!)
      const wrongPrefix = payload.slice(0, 1000)
      wrongPrefix[5] = wrongPrefix[5]! ^ 1
      expect((await reason(judge.services.blob.fetchBlob(server.peerId, hash, { prefix: wrongPrefix }))).name).toBe('BlobHashMismatchError')
      expect(penalties.reason(server.peerId.toString())).toBeUndefined()
      const claimed = toHex(sha256(new Uint8Array([4, 5, 6])))
      store.add(bytesOf(3000, 9), claimed)
      expect((await reason(judge.services.blob.fetchBlob(server.peerId, claimed))).name).toBe('BlobHashMismatchError')
      expect(penalties.reason(server.peerId.toString())).toBe('wrong-blob')
    } finally {
      await judge.stop()
    }
  })

  it('refuses a blob larger than the expected size or maxBytes', async () => {
    const a = await reason(client.services.blob.fetchBlob(server.peerId, hash, { expectedBytes: 1000 }))
    expect(a).toMatchObject({ name: 'BlobTooLargeError', size: payload.length, limit: 1000 })
    const b = await reason(client.services.blob.fetchBlob(server.peerId, hash, { maxBytes: 64 * 1024 }))
    expect(b).toMatchObject({ name: 'BlobTooLargeError', limit: 64 * 1024 })
    // The right size is required, not just a small enough one.
    const c = await reason(client.services.blob.fetchBlob(server.peerId, hash, { expectedBytes: payload.length + 1 }))
    expect(c.name).toBe('BlobProtocolError')
  })

  it('a server refuses to serve blobs over its own limit', async () => {
    const small = await node({ store, maxBytes: 1024 })
    try {
      await client.dial(small.getMultiaddrs()[0]!)
      expect((await reason(client.services.blob.fetchBlob(small.peerId, hash))).name).toBe('BlobTooLargeError')
    } finally {
      await small.stop()
    }
  })

  /** Sends raw bytes as a request; the header status the server answered, or undefined if it just closed/reset. */
  async function rawRequest (bytes: Uint8Array): Promise<number | undefined> {
    const stream = await client.dialProtocol(server.peerId, PROTOCOL_BLOB)
    const lp = lpStream(stream)
    try {
      stream.send(bytes)
      await stream.close()
      const header = (await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()
      return header[0]
    } catch {
      return undefined
    } finally {
      stream.abort(new Error('done'))
    }
  }

  it('survives junk requests: answers each with a refusal (never a bare reset), keeps no serve slot, and still serves', async () => {
    const frame = (b: Uint8Array): Uint8Array => { const lp = new Uint8Array(1 + b.length); lp[0] = b.length; lp.set(b, 1); return lp }
    for (const [why, junk] of JUNK_BYTES) {
      const status = await rawRequest(junk)
      expect([BlobStatus.badRequest, BlobStatus.notFound], why).toContain(status)
    }
    // A length prefix of 2^30 (far over the request cap), a malformed varint, and a frame cut short.
    expect(await rawRequest(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x04, 1, 2, 3]))).toBe(BlobStatus.badRequest)
    expect(await rawRequest(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(BlobStatus.badRequest)
    expect(await rawRequest(frame(new Uint8Array(32)).subarray(0, 20))).toBe(BlobStatus.badRequest)
    expect(await rawRequest(frame(new Uint8Array(31)))).toBe(BlobStatus.badRequest)
    expect(await rawRequest(frame(new Uint8Array(33)))).toBe(BlobStatus.badRequest)
    expect(await rawRequest(frame(new Uint8Array(32)))).toBe(BlobStatus.notFound)
    expect(await rawRequest(frame(encodeBlobRequest(hash, payload.length + 1)))).toBe(BlobStatus.badRequest)
    await until(() => server.services.blob.activeServes === 0)
    expect(await client.services.blob.fetchBlob(server.peerId, hash)).toEqual(payload)
  })

  describe('against a lying server', () => {
    let liar: Libp2p
    let announce: bigint
    let send: Uint8Array
    beforeAll(async () => {
      liar = await createLibp2p({
        addresses: { listen: [`/memory/essaim-blob-liar-${process.pid}`] },
        transports: [memory()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()]
      })
      await liar.handle(PROTOCOL_BLOB, async stream => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.write(encodeBlobHeader(BlobStatus.ok, announce))
        if (send.length > 0) await lp.write(send)
        await stream.close()
      })
      await client.dial(liar.getMultiaddrs()[0]!)
    })
    afterAll(async () => { await liar?.stop() })

    it('an announced size of 2^60 bytes is refused before any allocation', async () => {
      // Allocating first would throw a RangeError, not this.
      announce = 1n << 60n
      send = new Uint8Array(0)
      const err = await reason(client.services.blob.fetchBlob(liar.peerId, hash))
      expect(err).toMatchObject({ name: 'BlobTooLargeError', limit: 256 * 1024 * 1024 })
    })

    it('bytes beyond the announced size are a protocol error', async () => {
      announce = 10n
      send = new Uint8Array(20)
      expect((await reason(client.services.blob.fetchBlob(liar.peerId, hash))).name).toBe('BlobProtocolError')
    })

    it('a stream ending before the announced size is a protocol error', async () => {
      announce = 1000n
      send = new Uint8Array(10)
      expect((await reason(client.services.blob.fetchBlob(liar.peerId, hash))).name).toBe('BlobProtocolError')
    })
  })

  describe('caps, cancellation and timeouts', () => {
    it('answers busy beyond the per-peer and total serve limits, shares one store read, then serves again', async () => {
      let open!: () => void
      store.gate = new Promise(resolve => { open = resolve })
      const gets = store.gets
      const first = client.services.blob.fetchBlob(server.peerId, hash)
      await until(() => server.services.blob.activeServes === 1)
      // Per peer: the same client may not open a second serve.
      expect((await reason(client.services.blob.fetchBlob(server.peerId, hash))).name).toBe('BlobBusyError')
      // In total (2): another peer gets one, a third concurrent serve is refused.
      const second = other.services.blob.fetchBlob(server.peerId, hash)
      await until(() => server.services.blob.activeServes === 2)
      const third = await node()
      try {
        await third.dial(server.getMultiaddrs()[0]!)
        expect((await reason(third.services.blob.fetchBlob(server.peerId, hash))).name).toBe('BlobBusyError')
      } finally {
        await third.stop()
      }
      // Two concurrent serves of one hash read the store once.
      expect(store.gets - gets).toBe(1)
      store.gate = undefined
      open()
      expect(await first).toEqual(payload)
      expect(await second).toEqual(payload)
      await until(() => server.services.blob.activeServes === 0)
      expect(await client.services.blob.fetchBlob(server.peerId, hash)).toEqual(payload)
      // …and let go of it afterwards: a later serve reads again.
      expect(store.gets - gets).toBe(2)
    })

    it('rejects at once with the caller\'s reason on an aborted signal, and frees the serve slot', async () => {
      const pre = await reason(client.services.blob.fetchBlob(server.peerId, hash, { signal: AbortSignal.abort() }))
      expect(pre.name).toBe('AbortError')

      let open!: () => void
      store.gate = new Promise(resolve => { open = resolve })
      const controller = new AbortController()
      const pending = reason(client.services.blob.fetchBlob(server.peerId, hash, { signal: controller.signal }))
      await until(() => server.services.blob.activeServes === 1)
      controller.abort()
      expect((await pending).name).toBe('AbortError')
      store.gate = undefined
      open()
      await until(() => server.services.blob.activeServes === 0)
    })

    it('a deadline or an idle stream becomes BlobTimeoutError', async () => {
      let open!: () => void
      store.gate = new Promise(resolve => { open = resolve })
      try {
        const deadline = await reason(client.services.blob.fetchBlob(server.peerId, hash, { signal: AbortSignal.timeout(200) }))
        expect(deadline.name).toBe('BlobTimeoutError')
        await until(() => server.services.blob.activeServes === 0)
        // The client's idle timer is 2 s: no header arrives while the store hangs.
        const idle = await reason(client.services.blob.fetchBlob(server.peerId, hash))
        expect(idle).toMatchObject({ name: 'BlobTimeoutError', sha256: hash })
      } finally {
        store.gate = undefined
        open()
      }
    })
  })
})
