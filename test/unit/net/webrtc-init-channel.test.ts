import { describe, it, expect } from 'vitest'
import { settleInitChannel } from '../../../src/net/webrtc-init-channel.ts'

/** The parts of an RTCDataChannel the helper uses, moved through its states by the test. */
class Channel extends EventTarget {
  readyState: RTCDataChannelState
  closeCalls = 0
  constructor (state: RTCDataChannelState) { super(); this.readyState = state }
  close (): void { this.closeCalls++; if (this.readyState === 'connecting' || this.readyState === 'open') this.readyState = 'closing' }
  fire (state: RTCDataChannelState, event: 'open' | 'close'): void { this.readyState = state; this.dispatchEvent(new Event(event)) }
}

const settled = async (p: Promise<void>): Promise<boolean> => await Promise.race([p.then(() => true), new Promise<boolean>(resolve => { setTimeout(() => { resolve(false) }, 20) })])
const settle = async (channel: Channel, signal?: AbortSignal): Promise<void> => { await settleInitChannel(channel as unknown as RTCDataChannel, signal) }

/** The settling `p` of `channel` is still pending, and ends once the channel fires `close`. */
async function endsOnClose (channel: Channel, p: Promise<void>): Promise<void> {
  expect(await settled(p)).toBe(false)
  channel.fire('closed', 'close')
  expect(await settled(p)).toBe(true)
}

describe('settleInitChannel', () => {
  it('a channel the recipient already closed (its open event long gone): done at once, not closed again', async () => {
    const channel = new Channel('closed')
    expect(await settled(settle(channel))).toBe(true)
    expect(channel.closeCalls).toBe(0)
  })

  it('a connecting channel that the recipient closes before it opens here: done on its close event', async () => {
    const channel = new Channel('connecting')
    await endsOnClose(channel, settle(channel))
    expect(channel.closeCalls).toBe(0)
  })

  it('a connecting channel that opens: closed by us, done once the close is seen', async () => {
    const channel = new Channel('connecting')
    const p = settle(channel)
    channel.fire('open', 'open')
    await endsOnClose(channel, p)
    expect(channel.closeCalls).toBe(1)
  })

  it('an open channel is closed; a closing one is only waited for', async () => {
    const open = new Channel('open')
    const p = settle(open)
    expect(open.closeCalls).toBe(1)
    await endsOnClose(open, p)
    const closing = new Channel('closing')
    await endsOnClose(closing, settle(closing))
    expect(closing.closeCalls).toBe(0)
  })

  it('gives up with the signal\'s reason, also when it is already aborted', async () => {
    const channel = new Channel('connecting')
    const controller = new AbortController()
    const p = settle(channel, controller.signal)
    controller.abort(new Error('dial timed out'))
    await expect(p).rejects.toThrow('dial timed out')
    await expect(settle(new Channel('open'), controller.signal)).rejects.toThrow('dial timed out')
  })
})
