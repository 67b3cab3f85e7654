/**
 * Content-addressed blobs over `/essaim/blob/1.0.0` (DESIGN.md "Data flow",
 * step 3): any peer that has verified model bytes serves them by sha256, so a
 * swarm does not all download the same model from the static origin.
 *
 * Wire format (every frame is unsigned-varint length-prefixed):
 *   request  = sha256 (32 bytes) [ offset (uint64 big-endian) ]
 *   header   = status (1 byte) ‖ total size of the blob (uint64 big-endian)
 *   data     = frames of at most 64 KiB carrying bytes offset‥total, then the
 *              server closes its end.
 *
 * Nothing the remote sends is trusted: the client allocates only after the
 * announced size passed its cap (the catalog's expected size when known),
 * refuses frames beyond the announced size, and hashes as bytes arrive, so the
 * result is returned only when it matches the requested sha256. The server
 * caps blob size, concurrent serves per peer and in total (answering "busy"
 * rather than queueing), and bounds every stream by an overall deadline and
 * an idle timer.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { lpStream } from '@libp2p/utils'
import { TimeoutError } from '@libp2p/interface'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { fromHex, isHex, toHex } from '../../core/bytes.ts'
import { errorInfo } from '../../core/errors.ts'
import {
  BLOB_CHUNK_BYTES, BLOB_IDLE_TIMEOUT_MS, BLOB_MAX_BYTES, BLOB_MAX_SERVES_PER_PEER, BLOB_MAX_SERVES_TOTAL,
  BLOB_REQUEST_TIMEOUT_MS, BLOB_TRANSFER_TIMEOUT_MS, PROTOCOL_BLOB
} from '../constants.ts'
import {
  BlobBusyError, BlobHashMismatchError, BlobNotFoundError, BlobProtocolError, BlobTimeoutError, BlobTooLargeError,
  FRAMING_ERRORS
} from '../errors.ts'
import type { PeerPenalties } from '../scoring.ts'
import { deadline } from '../deadline.ts'

/** Where a serving peer reads blobs from (implemented by `src/store/model-cache.ts`). */
export interface BlobStore {
  /** The bytes whose sha256 is `sha256` (lowercase hex), or undefined. Must only hold verified bytes. */
  get: (sha256: string, options?: { signal?: AbortSignal }) => Promise<Uint8Array | undefined>
  has: (sha256: string, options?: { signal?: AbortSignal }) => Promise<boolean>
}

/** Response status byte. */
export const BlobStatus = { ok: 0, notFound: 1, busy: 2, tooLarge: 3, badRequest: 4 } as const
export type BlobStatus = typeof BlobStatus[keyof typeof BlobStatus]

const HASH_BYTES = 32
const OFFSET_BYTES = 8
const HEADER_BYTES = 1 + 8

export interface BlobProgress { received: number, total: number }

export interface FetchBlobOptions {
  signal?: AbortSignal
  /** Called after each frame with the bytes held so far (prefix included) and the total. */
  onProgress?: (progress: BlobProgress) => void
  /** Refuse a blob announced larger than this (default and ceiling: the service's `maxBytes`). */
  maxBytes?: number
  /** The size the blob must have (from the catalog): also the allocation cap. */
  expectedBytes?: number
  /** Leading bytes already received from an interrupted transfer: only the rest is requested. */
  prefix?: Uint8Array
}

export interface BlobInit {
  /** What this peer serves; without it the service only fetches. */
  store?: BlobStore
  maxBytes?: number
  chunkBytes?: number
  maxServesPerPeer?: number
  maxServesTotal?: number
  requestTimeoutMs?: number
  /** Deadline of a whole transfer when the caller gave no signal (and of every serve). */
  transferTimeoutMs?: number
  idleTimeoutMs?: number
  /** Told about peers whose bytes do not match the hash they were asked for (they are graylisted). */
  penalties?: PeerPenalties
}

export interface BlobComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/** Encodes a request; exported for tests that play a misbehaving peer. */
export function encodeBlobRequest (sha256: string, offset = 0): Uint8Array {
  const out = new Uint8Array(offset > 0 ? HASH_BYTES + OFFSET_BYTES : HASH_BYTES)
  out.set(fromHex(sha256), 0)
  if (offset > 0) new DataView(out.buffer).setBigUint64(HASH_BYTES, BigInt(offset))
  return out
}

/** Encodes a response header; exported for tests that play a misbehaving peer. */
export function encodeBlobHeader (status: BlobStatus, total: number | bigint): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES)
  out[0] = status
  new DataView(out.buffer).setBigUint64(1, BigInt(total))
  return out
}

/**
 * A deadline that restarts each time bytes move: `touch()` on progress, the
 * signal aborts with a TimeoutError after `ms` without any.
 */
function idleTimer (ms: number): { signal: AbortSignal, touch: () => void, clear: () => void } {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const touch = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => { controller.abort(new TimeoutError(`no bytes for ${ms} ms`)) }, ms)
  }
  touch()
  return { signal: controller.signal, touch, clear: () => { clearTimeout(timer) } }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort!: () => void
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** A store read shared by the serves of one hash. */
interface Reading { bytes: Promise<Uint8Array | undefined>, refs: number }

function isTimeout (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name === 'TimeoutError' || name === 'InactivityTimeoutError'
}

export class BlobService implements Startable {
  private readonly log: Logger
  private readonly store?: BlobStore
  private readonly maxBytes: number
  private readonly chunkBytes: number
  private readonly maxPerPeer: number
  private readonly maxTotal: number
  private readonly requestTimeoutMs: number
  private readonly transferTimeoutMs: number
  private readonly idleTimeoutMs: number
  private readonly penalties?: PeerPenalties
  private readonly serving = new Map<string, number>()
  /**
   * Blobs being served, shared by concurrent serves of the same hash: when a
   * model is announced, many volunteers want the same bytes at once, and each
   * serve reading its own copy from the store would multiply memory.
   */
  private readonly reading = new Map<string, Reading>()
  private servingTotal = 0
  private started = false
  readonly [Symbol.toStringTag] = 'essaim:blob'

  constructor (private readonly components: BlobComponents, init: BlobInit = {}) {
    this.log = components.logger.forComponent('essaim:net:blob')
    this.store = init.store
    this.maxBytes = init.maxBytes ?? BLOB_MAX_BYTES
    this.chunkBytes = init.chunkBytes ?? BLOB_CHUNK_BYTES
    this.maxPerPeer = init.maxServesPerPeer ?? BLOB_MAX_SERVES_PER_PEER
    this.maxTotal = init.maxServesTotal ?? BLOB_MAX_SERVES_TOTAL
    this.requestTimeoutMs = init.requestTimeoutMs ?? BLOB_REQUEST_TIMEOUT_MS
    this.transferTimeoutMs = init.transferTimeoutMs ?? BLOB_TRANSFER_TIMEOUT_MS
    this.idleTimeoutMs = init.idleTimeoutMs ?? BLOB_IDLE_TIMEOUT_MS
    this.penalties = init.penalties
    this.handle = this.handle.bind(this)
  }

  async start (): Promise<void> {
    if (this.store !== undefined) {
      await this.components.registrar.handle(PROTOCOL_BLOB, this.handle, {
        // A few more streams than serves, so an over-eager peer gets a "busy"
        // answer rather than a reset stream.
        maxInboundStreams: this.maxPerPeer + 2,
        // Relayed connections carry a few KiB at most: blobs go direct.
        runOnLimitedConnection: false
      })
    }
    this.started = true
  }

  async stop (): Promise<void> {
    if (this.store !== undefined) await this.components.registrar.unhandle(PROTOCOL_BLOB)
    this.started = false
  }

  isStarted (): boolean {
    return this.started
  }

  /** Serves currently running (to everybody). */
  get activeServes (): number {
    return this.servingTotal
  }

  /**
   * Fetches the blob `sha256` (lowercase hex) from `peer`, streaming it into
   * one buffer sized by the announced length once that passed the caps, and
   * hashing it as it arrives.
   * @returns the bytes, whose sha256 is `sha256`.
   * @throws {BlobNotFoundError} the peer does not have it.
   * @throws {BlobTooLargeError} announced over `expectedBytes`/`maxBytes`, or over the peer's limit; nothing was allocated.
   * @throws {BlobHashMismatchError} the bytes hash to something else.
   * @throws {BlobBusyError} the peer is at its serve limit.
   * @throws {BlobTimeoutError} the deadline (caller's timeout signal, or the default when none was given) or the idle timer fired.
   * @throws {BlobProtocolError} malformed header, wrong size, extra bytes, early end, or the stream failed mid-transfer.
   * @throws the caller's `signal.reason` when the caller aborted for a reason other than a timeout.
   * @throws {TypeError} `sha256` is not 64 lowercase hex characters (programmer error).
   */
  async fetchBlob (peer: PeerId, sha256: string, options: FetchBlobOptions = {}): Promise<Uint8Array> {
    if (!isHex(sha256, HASH_BYTES)) throw new TypeError('sha256 must be 64 lowercase hex characters')
    const remote = peer.toString()
    const limit = Math.min(options.maxBytes ?? this.maxBytes, this.maxBytes, options.expectedBytes ?? Infinity)
    const prefix = options.prefix ?? new Uint8Array(0)
    if (prefix.length > limit) throw new BlobTooLargeError(remote, prefix.length, limit)

    const idle = idleTimer(this.idleTimeoutMs)
    const transfer = options.signal === undefined ? deadline(this.transferTimeoutMs) : undefined
    const signal = AbortSignal.any([options.signal ?? transfer!.signal, idle.signal])
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, PROTOCOL_BLOB, { signal, runOnLimitedConnection: false })
      const opened = stream
      const onAbort = (): void => { opened.abort(signal.reason as Error) }
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        return await this.receive(opened, remote, sha256, { limit, prefix, signal, idle, onProgress: options.onProgress, expectedBytes: options.expectedBytes })
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    } catch (err) {
      stream?.abort(err as Error)
      // Bytes not matching their hash are the server's doing, unless part of them was a prefix we held.
      if ((err as Error).name === 'BlobHashMismatchError' && prefix.length === 0) this.penalties?.fault(remote, 'wrong-blob')
      if (signal.aborted) {
        if (isTimeout(signal.reason)) throw new BlobTimeoutError(remote, sha256, { cause: signal.reason })
        throw signal.reason
      }
      if (isTimeout(err)) throw new BlobTimeoutError(remote, sha256, { cause: err })
      if (stream === undefined || isBlobError(err)) throw err
      throw new BlobProtocolError(remote, errorInfo(err).message, { cause: err })
    } finally {
      idle.clear()
      transfer?.clear()
    }
  }

  private async receive (stream: Stream, remote: string, sha256: string, o: {
    limit: number
    prefix: Uint8Array
    signal: AbortSignal
    idle: { touch: () => void }
    expectedBytes?: number
    onProgress?: (progress: BlobProgress) => void
  }): Promise<Uint8Array> {
    const lp = lpStream(stream, { maxDataLength: Math.max(this.chunkBytes, HEADER_BYTES) })
    await lp.write(encodeBlobRequest(sha256, o.prefix.length), { signal: o.signal })
    await stream.close({ signal: o.signal })

    const header = (await lp.read({ signal: o.signal })).subarray()
    o.idle.touch()
    if (header.length !== HEADER_BYTES) throw new BlobProtocolError(remote, `header of ${header.length} bytes`)
    const announced = new DataView(header.buffer, header.byteOffset, header.byteLength).getBigUint64(1)
    const status = header[0]
    if (status === BlobStatus.notFound) throw new BlobNotFoundError(remote, sha256)
    if (status === BlobStatus.busy) throw new BlobBusyError(remote)
    if (status === BlobStatus.tooLarge) throw new BlobTooLargeError(remote, undefined, undefined)
    if (status !== BlobStatus.ok) throw new BlobProtocolError(remote, `status ${String(status)}`)
    // Compare as bigint: the announced size is untrusted and may not fit a double.
    if (announced > BigInt(o.limit)) throw new BlobTooLargeError(remote, Number(announced), o.limit)
    const total = Number(announced)
    if (o.expectedBytes !== undefined && total !== o.expectedBytes) {
      throw new BlobProtocolError(remote, `announced ${total} bytes, expected ${o.expectedBytes}`)
    }
    if (total < o.prefix.length) throw new BlobProtocolError(remote, `announced ${total} bytes, shorter than the ${o.prefix.length} already held`)

    const out = new Uint8Array(total)
    const hasher = nobleSha256.create()
    out.set(o.prefix, 0)
    hasher.update(o.prefix)
    let received = o.prefix.length
    o.onProgress?.({ received, total })
    while (received < total) {
      const frame = await lp.read({ signal: o.signal })
      o.idle.touch()
      if (frame.byteLength === 0) throw new BlobProtocolError(remote, 'empty data frame')
      if (received + frame.byteLength > total) throw new BlobProtocolError(remote, `more than the announced ${total} bytes`)
      for (const part of frame) {
        out.set(part, received)
        hasher.update(part)
        received += part.length
      }
      o.onProgress?.({ received, total })
    }
    const actual = toHex(hasher.digest())
    if (actual !== sha256) throw new BlobHashMismatchError(remote, sha256, actual)
    return out
  }

  private acquire (peer: string): boolean {
    const mine = this.serving.get(peer) ?? 0
    if (mine >= this.maxPerPeer || this.servingTotal >= this.maxTotal) return false
    this.serving.set(peer, mine + 1)
    this.servingTotal++
    return true
  }

  private release (peer: string): void {
    const mine = (this.serving.get(peer) ?? 1) - 1
    if (mine <= 0) this.serving.delete(peer)
    else this.serving.set(peer, mine)
    this.servingTotal--
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    const idle = idleTimer(this.requestTimeoutMs)
    // A client that goes away must free its serve slot at once, even while
    // the store is still reading.
    const gone = new AbortController()
    const onClose = (): void => { gone.abort(new Error('stream closed by the remote')) }
    stream.addEventListener('close', onClose)
    const limit = deadline(this.transferTimeoutMs)
    const signal = AbortSignal.any([limit.signal, idle.signal, gone.signal])
    const onAbort = (): void => { if (stream.status === 'open') stream.abort(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
    const lp = lpStream(stream, { maxDataLength: HASH_BYTES + OFFSET_BYTES })
    let slot = false
    let read: { sha256: string, entry: Reading } | undefined
    try {
      let request: Uint8Array
      try {
        request = (await lp.read({ signal })).subarray()
      } catch (err) {
        // A request that cannot be read (length over the cap, bad varint, cut
        // short) is answered "bad request" at once rather than with a reset.
        if (!FRAMING_ERRORS.has((err as Error).name)) throw err
        this.log('unreadable request from %s: %s', remote, (err as Error).message)
        request = new Uint8Array(0)
      }
      idle.clear()
      if (request.length !== HASH_BYTES && request.length !== HASH_BYTES + OFFSET_BYTES) {
        await this.answer(stream, lp, BlobStatus.badRequest, 0, signal)
        return
      }
      const sha256 = toHex(request.subarray(0, HASH_BYTES))
      const offset = request.length > HASH_BYTES
        ? new DataView(request.buffer, request.byteOffset + HASH_BYTES, OFFSET_BYTES).getBigUint64(0)
        : 0n
      slot = this.acquire(remote)
      if (!slot) {
        this.log('busy: refusing %s to %s', sha256, remote)
        await this.answer(stream, lp, BlobStatus.busy, 0, signal)
        return
      }
      read = { sha256, entry: this.openRead(sha256) }
      const bytes = await raceSignal(read.entry.bytes, signal)
      if (bytes === undefined) {
        await this.answer(stream, lp, BlobStatus.notFound, 0, signal)
        return
      }
      if (bytes.length > this.maxBytes) {
        await this.answer(stream, lp, BlobStatus.tooLarge, 0, signal)
        return
      }
      if (offset > BigInt(bytes.length)) {
        await this.answer(stream, lp, BlobStatus.badRequest, 0, signal)
        return
      }
      this.log('serving %s (%d bytes from %d) to %s', sha256, bytes.length, offset, remote)
      await lp.write(encodeBlobHeader(BlobStatus.ok, bytes.length), { signal })
      const idleWrite = idleTimer(this.idleTimeoutMs)
      const writeSignal = AbortSignal.any([signal, idleWrite.signal])
      try {
        for (let i = Number(offset); i < bytes.length; i += this.chunkBytes) {
          await lp.write(bytes.subarray(i, i + this.chunkBytes), { signal: writeSignal })
          idleWrite.touch()
        }
      } finally {
        idleWrite.clear()
      }
      await stream.close({ signal })
    } catch (err) {
      this.log.error('serve to %s failed: %s', remote, (err as Error).message)
      if (stream.status === 'open') stream.abort(err as Error)
    } finally {
      idle.clear()
      limit.clear()
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (slot) this.release(remote)
      if (read !== undefined) this.closeRead(read.sha256, read.entry)
    }
  }

  /** Starts or joins the store read of `sha256`; every call must be paired with {@link closeRead}. */
  private openRead (sha256: string): Reading {
    let entry = this.reading.get(sha256)
    if (entry === undefined) {
      // No signal: the read is shared, so one client leaving must not fail it for the others.
      const created: Reading = { bytes: this.store!.get(sha256), refs: 0 }
      created.bytes.catch(() => { if (this.reading.get(sha256) === created) this.reading.delete(sha256) })
      this.reading.set(sha256, created)
      entry = created
    }
    entry.refs++
    return entry
  }

  private closeRead (sha256: string, entry: Reading): void {
    if (--entry.refs <= 0 && this.reading.get(sha256) === entry) this.reading.delete(sha256)
  }

  private async answer (stream: Stream, lp: ReturnType<typeof lpStream>, status: BlobStatus, total: number, signal: AbortSignal): Promise<void> {
    await lp.write(encodeBlobHeader(status, total), { signal })
    await stream.close({ signal })
  }
}

function isBlobError (err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? ''
  return name.startsWith('Blob') && name.endsWith('Error')
}

/** libp2p service factory: `services: { blob: blob({ store }) }`. */
export function blob (init: BlobInit = {}): (components: BlobComponents) => BlobService {
  return components => new BlobService(components, init)
}
