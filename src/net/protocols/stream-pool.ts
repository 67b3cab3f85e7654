/**
 * Open streams kept between exchanges, per peer: a volunteer pulls from a
 * requester every few tens of milliseconds while it works, and opening a
 * stream each time cost a WebRTC data channel opened and closed per pull
 * (~3 ms of each page's main thread, mostly blocking calls into WebRTC's
 * network thread, and a round trip before the request could go). A stream
 * rests here while no exchange uses it, and is closed after `keepMs`
 * unused, or as soon as the other side ends it.
 */
import type { Stream } from '@libp2p/interface'
import type { FrameReader } from './frames.ts'

/** A stream and the reader that has followed it since it opened. */
export interface Channel {
  stream: Stream
  reader: FrameReader
}

interface Resting {
  channel: Channel
  timer: ReturnType<typeof setTimeout>
  /** Drops it from the pool when the stream ends or the other side closes its end. */
  onEnd: () => void
}

export interface StreamPoolInit {
  /** A stream unused this long is closed. */
  keepMs: number
  /** Most resting streams per peer (more are closed when handed back). */
  maxPerPeer: number
}

export class StreamPool {
  private readonly resting = new Map<string, Resting[]>()

  constructor (private readonly init: StreamPoolInit) {}

  /** A resting stream to `peer` that is still open both ways, taken out of the pool. */
  take (peer: string): Channel | undefined {
    const list = this.resting.get(peer)
    while (list !== undefined && list.length > 0) {
      const rest = list.pop()!
      this.unhook(rest)
      if (list.length === 0) this.resting.delete(peer)
      if (usable(rest.channel.stream)) return rest.channel
      end(rest.channel)
    }
    return undefined
  }

  /** Hands a stream back after an exchange that left it in step (a whole reply read, nothing more held). */
  put (peer: string, channel: Channel): void {
    const list = this.resting.get(peer) ?? []
    if (!usable(channel.stream) || !channel.reader.idle || list.length >= this.init.maxPerPeer) { end(channel); return }
    const rest: Resting = {
      channel,
      timer: setTimeout(() => { this.remove(peer, rest) }, this.init.keepMs),
      onEnd: () => { this.remove(peer, rest) }
    }
    channel.stream.addEventListener('close', rest.onEnd)
    channel.stream.addEventListener('remoteCloseWrite', rest.onEnd)
    list.push(rest)
    this.resting.set(peer, list)
  }

  /** Closes every resting stream. */
  clear (): void {
    for (const [peer, list] of this.resting) for (const rest of [...list]) this.remove(peer, rest)
  }

  /** Resting streams to `peer`. */
  size (peer: string): number {
    return this.resting.get(peer)?.length ?? 0
  }

  private remove (peer: string, rest: Resting): void {
    const list = this.resting.get(peer)
    const at = list?.indexOf(rest) ?? -1
    if (at < 0) return
    list!.splice(at, 1)
    if (list!.length === 0) this.resting.delete(peer)
    this.unhook(rest)
    end(rest.channel)
  }

  private unhook (rest: Resting): void {
    clearTimeout(rest.timer)
    rest.channel.stream.removeEventListener('close', rest.onEnd)
    rest.channel.stream.removeEventListener('remoteCloseWrite', rest.onEnd)
  }
}

function usable (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}

/** Closes our end gracefully (the other side then closes its own); a stream that cannot close is aborted. */
function end (channel: Channel): void {
  channel.reader.stop()
  const { stream } = channel
  if (stream.status !== 'open') return
  stream.close().catch((err: Error) => { stream.abort(err) })
}
