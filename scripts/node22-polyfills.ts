/**
 * js-libp2p 3 expects two Node 22 globals; on Node 20 we provide them before
 * any libp2p module is loaded. Import this file first in every Node entry
 * point that starts a libp2p node (relay, bench, test adversaries).
 */
import { WebSocket as WsWebSocket } from 'ws'

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> () {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}

if (typeof globalThis.WebSocket === 'undefined') {
  Object.defineProperty(globalThis, 'WebSocket', { configurable: true, writable: true, value: WsWebSocket })
}
