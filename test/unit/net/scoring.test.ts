/**
 * Gossipsub peer scoring on Essaim topics (src/net/scoring.ts), between real
 * libp2p nodes (in-memory transport, Noise, Yamux, gossipsub with our
 * scoring config and our signed-topic validator): a peer whose messages the
 * validator REJECTs falls below the graylist threshold and is then not heard
 * at all, even for valid messages; clock-skewed messages are only IGNOREd;
 * a peer our requester marked faulty is graylisted; an honest quiet peer
 * scores exactly 0; the penalty table is bounded.
 */
import '../../../scripts/node22-polyfills.ts'
import { describe, it, expect, afterEach } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { logger } from '@libp2p/logger'
import { generateIdentity, type Identity } from '../../../src/core/identity.ts'
import { seal } from '../../../src/core/envelope.ts'
import { sha256 } from '../../../src/core/bytes.ts'
import { libp2pKey } from '../../../src/net/node.ts'
import { signedTopic } from '../../../src/net/signed-topic.ts'
import { GOSSIP_MAX_FUTURE_MS, JOB_MAX_AGE_MS, TOPIC_JOBS } from '../../../src/net/constants.ts'
import {
  APP_SCORE_FAULTY, MAX_OUTVOTES_COUNTED, PeerPenalties, SCORE_THRESHOLDS, gossipScore, gossipScoring, refusalResult
} from '../../../src/net/scoring.ts'
import { until } from '../until.ts'

type Node = Libp2p<{ pubsub: GossipSub }>
let n = 0
const nodes: Node[] = []

async function node (identity: Identity, penalties = new PeerPenalties()): Promise<Node> {
  const created = await createLibp2p({
    privateKey: libp2pKey(identity),
    addresses: { listen: [`/memory/essaim-scoring-${process.pid}-${++n}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ ...gossipScoring(penalties), globalSignaturePolicy: 'StrictSign', allowPublishToZeroTopicPeers: true, emitSelf: false })
    }
  })
  nodes.push(created)
  return created
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async x => { await x.stop() }))
})


function job (identity: Identity, ts = Date.now()): Uint8Array {
  const h = sha256(new Uint8Array([1]))
  return seal('job', {
    model: { id: 'digits', sha256: 'b'.repeat(64) },
    shards: [{ inputHash: h, bytes: 10 }],
    policy: { replicas: 2, quorum: 2, compare: { kind: 'argmax' }, canaryRate: 0, deadline: ts + 3600_000 }
  }, identity, { seq: ts, ts })
}

/** An observer with the real jobs-topic validator, and a sender connected to it and subscribed. */
async function pair (): Promise<{ observer: Node, sender: Node, senderId: Identity, heard: Uint8Array[], rejected: string[] }> {
  const senderId = generateIdentity()
  const observer = await node(generateIdentity())
  const sender = await node(senderId)
  const heard: Uint8Array[] = []
  const rejected: string[] = []
  signedTopic(observer.services.pubsub, {
    topic: TOPIC_JOBS, kinds: ['job'], maxAgeMs: JOB_MAX_AGE_MS, maxFutureMs: GOSSIP_MAX_FUTURE_MS, log: logger('test:scoring'),
    onMessage: (_env, bytes) => { heard.push(bytes) },
    onReject: (_from, reason) => { rejected.push(reason) }
  })
  sender.services.pubsub.subscribe(TOPIC_JOBS)
  await sender.dial(observer.getMultiaddrs()[0]!)
  await until('the observer\'s subscription', () => sender.services.pubsub.getSubscribers(TOPIC_JOBS).some(p => p.equals(observer.peerId)))
  await until('the sender\'s subscription', () => observer.services.pubsub.getSubscribers(TOPIC_JOBS).some(p => p.equals(sender.peerId)))
  return { observer, sender, senderId, heard, rejected }
}

describe('gossipsub scoring on Essaim topics', () => {
  it('graylists a peer after three rejected messages; its valid messages are then dropped unread', async () => {
    const { observer, sender, senderId, heard, rejected } = await pair()
    const score = (): number => gossipScore(observer.services.pubsub, sender.peerId.toString()) ?? 0

    await sender.services.pubsub.publish(TOPIC_JOBS, job(senderId))
    await until('a valid job', () => heard.length === 1)
    expect(score()).toBe(0)

    for (let i = 0; i < 3; i++) await sender.services.pubsub.publish(TOPIC_JOBS, Uint8Array.from([0xbf, 0xff, i]))
    await until('three rejections', () => rejected.length === 3)
    // P4 = −10 × 3² = −90 (the cached score refreshes within a heartbeat).
    await until('a score below the graylist threshold', () => score() < SCORE_THRESHOLDS.graylistThreshold, 5_000)
    expect(score()).toBeLessThanOrEqual(-80)

    await sender.services.pubsub.publish(TOPIC_JOBS, job(senderId, Date.now() + 1))
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(heard).toHaveLength(1)
    expect(rejected).toHaveLength(3)
  })

  it('does not score messages refused only for their signed time', async () => {
    const { observer, sender, senderId, rejected } = await pair()
    for (let i = 0; i < 5; i++) await sender.services.pubsub.publish(TOPIC_JOBS, job(senderId, Date.now() - JOB_MAX_AGE_MS - 60_000 - i))
    await until('five stale refusals', () => rejected.length === 5)
    await new Promise(resolve => setTimeout(resolve, 1_100))
    expect(gossipScore(observer.services.pubsub, sender.peerId.toString())).toBe(0)
  })

  it('graylists a peer the requester marked faulty, and leaves honest quiet peers at 0', async () => {
    const penalties = new PeerPenalties()
    const observer = await node(generateIdentity(), penalties)
    const liar = await node(generateIdentity())
    const quiet = await node(generateIdentity())
    for (const x of [liar, quiet]) {
      x.services.pubsub.subscribe(TOPIC_JOBS)
      await x.dial(observer.getMultiaddrs()[0]!)
    }
    observer.services.pubsub.subscribe(TOPIC_JOBS)
    await until('both peers on gossipsub', () => observer.services.pubsub.getPeers().length === 2)
    penalties.fault(liar.peerId.toString(), 'failed-canary')
    await until('the liar graylisted', () => gossipScore(observer.services.pubsub, liar.peerId.toString())! < SCORE_THRESHOLDS.graylistThreshold, 5_000)
    expect(gossipScore(observer.services.pubsub, liar.peerId.toString())!).toBe(APP_SCORE_FAULTY * 10)
    expect(gossipScore(observer.services.pubsub, quiet.peerId.toString())).toBe(0)
  })
})

describe('PeerPenalties', () => {
  it('outvotes lower the score a little, capped above the graylist threshold; a fault graylists', () => {
    const p = new PeerPenalties()
    for (let i = 0; i < 20; i++) p.outvoted('a')
    expect(p.appScore('a')).toBe(-MAX_OUTVOTES_COUNTED)
    expect(p.appScore('a') * 10).toBeGreaterThan(SCORE_THRESHOLDS.graylistThreshold)
    expect(p.reason('a')).toBe('outvoted')
    p.fault('a', 'wrong-blob')
    expect(p.appScore('a') * 10).toBeLessThan(SCORE_THRESHOLDS.graylistThreshold)
    expect(p.reason('a')).toBe('wrong-blob')
    expect(p.appScore('nobody')).toBe(0)
  })

  it('remembers at most its cap of peers, oldest forgotten first', () => {
    const p = new PeerPenalties(3)
    for (const id of ['a', 'b', 'c', 'd']) p.fault(id, 'failed-canary')
    expect(p.size).toBe(3)
    expect(p.appScore('a')).toBe(0)
    expect(p.appScore('d')).toBe(APP_SCORE_FAULTY)
  })

  it('IGNOREs clock and ordering refusals (honest relays cause them) and REJECTs every other refusal', () => {
    expect(refusalResult('StaleMessageError: signed 1 ms ago')).toBe(TopicValidatorResult.Ignore)
    expect(refusalResult('FutureMessageError: dated 1 ms ahead')).toBe(TopicValidatorResult.Ignore)
    expect(refusalResult('ReplayError: attestation seq 9 from this signer was already seen')).toBe(TopicValidatorResult.Ignore)
    for (const r of ['BadSignatureError: x', 'OversizedError: x', 'UnexpectedKindError: x', 'unsigned gossip message', 'envelope signed by another key than its publisher']) {
      expect(refusalResult(r)).toBe(TopicValidatorResult.Reject)
    }
  })
})
