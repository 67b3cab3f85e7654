/**
 * The end of a WebRTC dial's `init` data channel, for @libp2p/webrtc's
 * initiator (patched in by scripts/webrtc-init-fix.ts).
 *
 * The dialer creates an `init` channel so that its offer has a data section;
 * once connected it waits for that channel to open, closes it and waits for
 * the close. But the recipient's muxer closes an `init` channel the moment it
 * arrives. When the dialer's page is busy, that close lands before the dialer
 * looks: the channel is already `closed`, its `open` event long gone, and
 * upstream's wait for `open` (then for `close`) lasts until the dial times
 * out (6 s). About one dial in seven between busy tabs did this; the
 * recipient meanwhile kept a connection its dialer had given up on.
 */

/** Resolves once `channel` is closed: waits for it to open or close, closes it if open, then waits for the close. */
export async function settleInitChannel (channel: RTCDataChannel, signal?: AbortSignal): Promise<void> {
  if (channel.readyState === 'connecting') await nextEvent(channel, ['open', 'close'], signal)
  if (channel.readyState === 'open') channel.close()
  if (channel.readyState !== 'closed') await nextEvent(channel, ['close'], signal)
}

/** The first of `names` fired on `target`; rejects with the signal's reason if it aborts first. */
async function nextEvent (target: EventTarget, names: string[], signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const fired = (): void => { detach(); resolve() }
    const aborted = (): void => { detach(); reject(signal?.reason) }
    const detach = (): void => {
      for (const name of names) target.removeEventListener(name, fired)
      signal?.removeEventListener('abort', aborted)
    }
    for (const name of names) target.addEventListener(name, fired, { once: true })
    signal?.addEventListener('abort', aborted, { once: true })
  })
}
