/**
 * Boots one browser peer: reads the network config (served file + URL),
 * loads or creates this profile's identity, and starts the libp2p node with
 * mesh upkeep and presence. The UI observes the returned `Peer`; it never
 * reaches into libp2p itself.
 *
 * Models: the IndexedDB model cache is opened here, served to other peers by
 * the blob service, and advertised in heartbeats (`capabilities.models`);
 * `loadModel` fetches from cache → peers advertising the hash → origin.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { loadNetConfig, type NetConfig } from '../net/config.ts'
import { createEssaimNode, type EssaimNode } from '../net/node.ts'
import { presence, type Presence } from '../net/presence.ts'
import type { Identity } from '../core/identity.ts'
import { loadOrCreateIdentity } from '../store/identity-store.ts'
import { ModelCache } from '../store/model-cache.ts'
import { loadModel as loadModelFrom, type LoadedModel, type ModelEntry, type ModelProgress } from '../compute/model-source.ts'
import { APP_VERSION } from './version.ts'

export interface Capabilities { provider: 'webgpu' | 'wasm', threads: number, models: string[] }

export interface Peer {
  node: EssaimNode<{ presence: Presence }>
  identity: Identity
  config: NetConfig
  /** What this peer announces in its heartbeats; mutable as things change. */
  capabilities: Capabilities
  modelCache: ModelCache
  /**
   * Verified bytes of a catalog model, from the cache, a peer advertising its
   * hash, or the static origin; cached and then advertised.
   * @throws {ModelUnavailableError} every source failed (hash mismatches included, each naming its source).
   */
  loadModel: (entry: ModelEntry, options?: { signal?: AbortSignal, onProgress?: (progress: ModelProgress) => void }) => Promise<LoadedModel>
  stop: () => Promise<void>
}

/** A best guess before the compute layer has probed WebGPU: WASM with what isolation allows. */
export function defaultCapabilities (): Capabilities {
  const cores = typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency
  const threads = globalThis.crossOriginIsolated === true ? Math.max(1, Math.min(cores, 256)) : 1
  return { provider: 'wasm', threads, models: [] }
}

export async function startPeer (location: { search: string, origin: string }, options: { signal?: AbortSignal } = {}): Promise<Peer> {
  const config = await loadNetConfig(location, options)
  const identity = await loadOrCreateIdentity()
  const capabilities = defaultCapabilities()
  const modelCache = new ModelCache()
  capabilities.models = await modelCache.list(options)
  const node = await createEssaimNode({
    identity,
    relays: config.relays,
    allowPrivateAddresses: config.allowPrivateAddresses,
    blobStore: modelCache,
    services: {
      presence: presence({
        identity,
        describe: () => ({ provider: capabilities.provider, threads: capabilities.threads, models: capabilities.models.slice(0, 64), app: APP_VERSION })
      })
    }
  })
  // Peers that served bytes not matching their hash, for this session.
  const badSources = new Set<string>()
  const self = node.peerId.toString()
  const loadModel: Peer['loadModel'] = async (entry, loadOptions = {}) => {
    const loaded = await loadModelFrom(entry, {
      ...loadOptions,
      cache: modelCache,
      peers: () => node.services.presence.live()
        .filter(hb => hb.peerId !== self && hb.body.models.includes(entry.sha256))
        .map(hb => peerIdFromString(hb.peerId)),
      fetchBlob: async (peer, sha256, fetchOptions) => await node.services.blob.fetchBlob(peer, sha256, fetchOptions),
      bad: badSources
    })
    if (loaded.cacheError === undefined && !capabilities.models.includes(entry.sha256)) {
      capabilities.models = [...capabilities.models, entry.sha256].sort()
    }
    return loaded
  }
  return { node, identity, config, capabilities, modelCache, loadModel, stop: async () => { await node.stop() } }
}
