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

describe('settleInitChannel', () => {
  it('a channel the recipient already closed (its open event long gone): done at once, not closed again', async () => {
    const channel = new Channel('closed')
    expect(await settled(settleInitChannel(channel as unknown as RTCDataChannel))).toBe(true)
    expect(channel.closeCalls).toBe(0)
  })

  it('a connecting channel that the recipient closes before it opens here: done on its close event', async () => {
    const channel = new Channel('connecting')
    const p = settleInitChannel(channel as unknown as RTCDataChannel)
    expect(await settled(p)).toBe(false)
    channel.fire('closed', 'close')
    expect(await settled(p)).toBe(true)
    expect(channel.closeCalls).toBe(0)
  })

  it('a connecting channel that opens: closed by us, done once the close is seen', async () => {
    const channel = new Channel('connecting')
    const p = settleInitChannel(channel as unknown as RTCDataChannel)
    channel.fire('open', 'open')
    expect(await settled(p)).toBe(false)
    expect(channel.closeCalls).toBe(1)
    channel.fire('closed', 'close')
    expect(await settled(p)).toBe(true)
  })

  it('an open channel is closed; a closing one is only waited for', async () => {
    const open = new Channel('open')
    const p = settleInitChannel(open as unknown as RTCDataChannel)
    expect(open.closeCalls).toBe(1)
    open.fire('closed', 'close')
    expect(await settled(p)).toBe(true)
    const closing = new Channel('closing')
    const q = settleInitChannel(closing as unknown as RTCDataChannel)
    expect(await settled(q)).toBe(false)
    closing.fire('closed', 'close')
    expect(await settled(q)).toBe(true)
    expect(closing.closeCalls).toBe(0)
  })

  it('gives up with the signal\'s reason, also when it is already aborted', async () => {
    const channel = new Channel('connecting')
    const controller = new AbortController()
    const p = settleInitChannel(channel as unknown as RTCDataChannel, controller.signal)
    controller.abort(new Error('dial timed out'))
    await expect(p).rejects.toThrow('dial timed out')
    await expect(settleInitChannel(new Channel('open') as unknown as RTCDataChannel, controller.signal)).rejects.toThrow('dial timed out')
  })
})
