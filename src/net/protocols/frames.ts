/**
 * Length-prefixed frames (unsigned varint length, then the bytes) on a
 * stream that carries many of them: the work protocol keeps a stream open
 * between a volunteer and a requester for pull after pull. lpStream does
 * not fit there: its read buffer's cap is fixed when the reader is made, so
 * a stream that may ever carry a 32 MiB frame could hold that much at any
 * moment. Here each frame's cap is decided when its length prefix arrives
 * (`admit`, which may also count the frame against a per-peer bound), and
 * the reader holds at most the frame it is reading plus `slack` bytes of
 * the next: a peer that sends more than that gets a failure in place of its
 * next frame, and every further byte is dropped.
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** A whole frame, or why the next frame cannot be read (the stream is then out of step: end it). */
export type Frame = { ok: true, bytes: Uint8Array } | { ok: false, reason: string }

export interface FrameReaderInit {
  /** Why a frame of `length` bytes is refused, or undefined to read it. Called once per frame, as its length arrives. */
  admit: (length: number) => string | undefined
  /** Called once for every admitted frame when it leaves the reader (handed over, or dropped with the stream). */
  release?: (length: number) => void
  /** Bytes held beyond the end of the frame being read (a frame's first bytes before it is admitted). */
  slack: number
}

/** Longest length prefix read: 7 bits a byte, far past any cap (and under 2^53). */
const MAX_PREFIX_BYTES = 7

export class FrameReader {
  private chunks: Uint8Array[] = []
  /** Bytes in `chunks`. */
  private held = 0
  /** The admitted frame at the front of `chunks`: its prefix and body lengths. */
  private head: { prefix: number, length: number } | undefined
  /** The next frame could not be read; every further byte is dropped. */
  private failure: { ok: false, reason: string } | undefined
  private error: Error | undefined
  private wake: (() => void) | undefined
  private readonly onMessage = (evt: StreamMessageEvent): void => { this.take(evt.data.subarray()) }
  private readonly onClose = (evt: StreamCloseEvent): void => { this.error ??= evt.error; this.wake?.() }
  private readonly onRemoteEnd = (): void => { this.wake?.() }

  constructor (private readonly stream: Stream, private readonly init: FrameReaderInit) {
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('close', this.onClose)
    stream.addEventListener('remoteCloseWrite', this.onRemoteEnd)
  }

  /** No bytes held: the stream sits between frames. */
  get idle (): boolean {
    return this.held === 0 && this.failure === undefined
  }

  /**
   * The next frame. `null` when the remote closed its end between frames;
   * `{ ok: false }` when the next frame cannot be read (a malformed or
   * refused length, more bytes than the bound, or the stream closed inside it).
   * @throws the stream's error when it was aborted or reset.
   * @throws the signal's reason when aborted.
   */
  async next (options: { signal: AbortSignal }): Promise<Frame | null> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      const head = this.head
      if (head !== undefined && this.held >= head.prefix + head.length) return { ok: true, bytes: this.shift(head) }
      if (this.failure !== undefined) return this.failure
      // Ended only once libp2p has handed over every byte it holds for us.
      if (this.stream.remoteWriteStatus !== 'writable' && this.stream.readBufferLength === 0) {
        if (this.held === 0) return null
        this.fail(head === undefined
          ? `frame cut short: ${this.held} bytes of a length prefix`
          : `frame cut short: ${this.held - head.prefix} of ${head.length} bytes`)
        continue
      }
      await this.bytes(options.signal)
    }
  }

  /** Stops reading: further bytes stay with the stream (which aborts past its own 4 MiB buffer). */
  stop (): void {
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('close', this.onClose)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.drop()
  }

  private take (data: Uint8Array): void {
    if (this.failure !== undefined || this.error !== undefined || data.length === 0) return
    this.chunks.push(data)
    this.held += data.length
    this.parse()
    const bound = (this.head === undefined ? 0 : this.head.prefix + this.head.length) + this.init.slack
    if (this.held > bound) this.fail(`${this.held} bytes sent, over the ${bound} this stream may hold before its reply`)
    this.wake?.()
  }

  /** Reads the front frame's length prefix, once it is all here, and asks `admit`. */
  private parse (): void {
    if (this.head !== undefined || this.held === 0) return
    let length = 0
    let i = 0
    for (const chunk of this.chunks) {
      for (const byte of chunk) {
        length += (byte & 0x7f) * 2 ** (7 * i++)
        if ((byte & 0x80) === 0) {
          const refused = this.init.admit(length)
          if (refused !== undefined) this.fail(refused)
          else this.head = { prefix: i, length }
          return
        }
        if (i === MAX_PREFIX_BYTES) { this.fail(`malformed length prefix (over ${MAX_PREFIX_BYTES} bytes)`); return }
      }
    }
  }

  /** Takes the front frame's body out of the held bytes, and reads the next frame's prefix if it is here. */
  private shift (head: { prefix: number, length: number }): Uint8Array {
    const end = head.prefix + head.length
    const first = this.chunks[0]!
    let body: Uint8Array
    if (first.length >= end) {
      body = first.subarray(head.prefix, end)
    } else {
      body = new Uint8Array(head.length)
      let offset = 0
      for (const chunk of this.chunks) {
        const from = Math.max(head.prefix - offset, 0)
        const to = Math.min(end - offset, chunk.length)
        if (to > from) body.set(chunk.subarray(from, to), offset + from - head.prefix)
        offset += chunk.length
        if (offset >= end) break
      }
    }
    let consumed = end
    while (consumed > 0) {
      const chunk = this.chunks[0]!
      if (chunk.length <= consumed) { this.chunks.shift(); consumed -= chunk.length } else { this.chunks[0] = chunk.subarray(consumed); consumed = 0 }
    }
    this.held -= end
    this.clearHead()
    this.parse()
    return body
  }

  private fail (reason: string): void {
    this.failure = { ok: false, reason }
    this.drop()
  }

  private drop (): void {
    this.clearHead()
    this.chunks = []
    this.held = 0
  }

  private clearHead (): void {
    const head = this.head
    this.head = undefined
    if (head !== undefined) this.init.release?.(head.length)
  }

  /** Resolves when bytes arrive or the stream ends. */
  private async bytes (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.wake = undefined; reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      this.wake = () => { this.wake = undefined; signal.removeEventListener('abort', onAbort); resolve() }
    })
  }
}

/** The unsigned varint length prefix of a frame of `length` bytes. */
function lengthPrefix (length: number): Uint8Array {
  const out: number[] = []
  while (length >= 0x80) { out.push((length % 0x80) | 0x80); length = Math.floor(length / 0x80) }
  out.push(length)
  return Uint8Array.from(out)
}

/**
 * Writes one frame; resolves once the stream can take more.
 * @throws when the stream is closed for writing, or the signal aborts while it drains.
 */
export async function writeFrame (stream: Stream, bytes: Uint8Array, options: { signal: AbortSignal }): Promise<void> {
  stream.send(lengthPrefix(bytes.length))
  if (!stream.send(bytes)) await stream.onDrain(options)
}
