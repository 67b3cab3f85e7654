/**
 * A gossipsub topic that only carries Essaim envelopes signed by the peer
 * that published them (DESIGN.md "Security rules"). The topic validator
 * opens each message (signature, schema, byte cap, age, optional replay
 * window) and checks that the envelope's signer is the libp2p key that
 * originated the gossip message; anything else is refused before other code
 * sees it: REJECTed, which lowers the forwarding peer's gossipsub score
 * (scoring.ts), or only IGNOREd when its signed time is off.
 */
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { Logger } from '@libp2p/interface'
import { openAsync, type AnyEnvelope } from '../core/envelope.ts'
import type { Kind } from '../core/constants.ts'
import type { ReplayWindow } from '../core/replay.ts'
import { bytesEqual } from '../core/bytes.ts'
import { refusalResult } from './scoring.ts'

export interface SignedTopicInit<K extends Kind> {
  topic: string
  kinds: readonly K[]
  /** Refuse envelopes signed longer ago than this. */
  maxAgeMs: number
  maxFutureMs: number
  /** Consulted and updated by the validator; leave out for idempotent messages that may be re-announced. */
  replay?: ReplayWindow
  now?: () => number
  log: Logger
  /** Called once per accepted message. Exceptions are logged, never propagated into gossipsub. */
  onMessage: (envelope: AnyEnvelope<K>, bytes: Uint8Array, from: string) => void
  onReject?: (from: string, reason: string) => void
}

export interface SignedTopic {
  publish: (bytes: Uint8Array) => Promise<void>
  stop: () => void
}

/**
 * Why a gossip message is refused, or the envelope it carries; signatures
 * checked on native Ed25519 (openAsync), off the pure-JS path. Never rejects.
 */
export async function checkSignedMessage<K extends Kind> (
  msg: Message,
  options: { kinds: readonly K[], now: number, maxAgeMs: number, maxFutureMs: number, replay?: ReplayWindow }
): Promise<{ ok: true, envelope: AnyEnvelope<K> } | { ok: false, reason: string }> {
  if (msg.type !== 'signed') return { ok: false, reason: 'unsigned gossip message' }
  const opened = await openAsync(msg.data, options)
  if (!opened.ok) return { ok: false, reason: `${opened.error.name}: ${opened.error.message}` }
  if (!bytesEqual(opened.envelope.signer, msg.key.raw)) return { ok: false, reason: 'envelope signed by another key than its publisher' }
  return { ok: true, envelope: opened.envelope }
}

/** Subscribes to `topic` with a validator; call after gossipsub has started. */
export function signedTopic<K extends Kind> (pubsub: GossipSub, init: SignedTopicInit<K>): SignedTopic {
  const now = init.now ?? Date.now
  const accepted = new WeakMap<Message, AnyEnvelope<K>>()
  pubsub.topicValidators.set(init.topic, async (_peer, msg) => {
    const checked = await checkSignedMessage(msg, { kinds: init.kinds, now: now(), maxAgeMs: init.maxAgeMs, maxFutureMs: init.maxFutureMs, replay: init.replay })
    if (!checked.ok) {
      const from = msg.type === 'signed' ? msg.from.toString() : 'unknown'
      init.log('rejected a message on %s from %s: %s', init.topic, from, checked.reason)
      init.onReject?.(from, checked.reason)
      return refusalResult(checked.reason)
    }
    accepted.set(msg, checked.envelope)
    return TopicValidatorResult.Accept
  })
  const onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== init.topic || msg.type !== 'signed') return
    const envelope = accepted.get(msg)
    if (envelope === undefined) return
    try {
      init.onMessage(envelope, msg.data, msg.from.toString())
    } catch (err) {
      init.log.error('handling a message on %s failed: %s', init.topic, (err as Error).message)
    }
  }
  pubsub.addEventListener('message', onMessage)
  pubsub.subscribe(init.topic)
  return {
    publish: async bytes => { await pubsub.publish(init.topic, bytes) },
    stop: () => {
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(init.topic)
      pubsub.unsubscribe(init.topic)
    }
  }
}
