/**
 * Boots one browser peer: reads the network config (served file + URL),
 * loads or creates this profile's identity, and starts the libp2p node with
 * mesh upkeep and presence. The UI observes the returned `Peer`; it never
 * reaches into libp2p itself.
 *
 * Models: the IndexedDB model cache is opened here, served to other peers by
 * the blob service, and advertised in heartbeats (`capabilities.models`);
 * `loadModel` fetches from cache → peers advertising the hash → origin;
 * `loadForeignModel` (a requester's own model, not in the catalog) from
 * cache → the job's requester → peers advertising the hash, size-capped;
 * `keepModel` caches and advertises a model this peer posted a job with;
 * `dropModel` deletes one and stops advertising it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { loadNetConfig, type NetConfig } from '../net/config.ts'
import { createEssaimNode, type EssaimNode } from '../net/node.ts'
import { presence, type Presence } from '../net/presence.ts'
import type { Identity } from '../core/identity.ts'
import { loadOrCreateIdentity } from '../store/identity-store.ts'
import { ModelCache } from '../store/model-cache.ts'
import { loadModel as loadModelFrom, type LoadedModel, type ModelEntry, type ModelProgress } from '../compute/model-source.ts'
import { loadForeignModel as loadForeignFrom, type ForeignModelRef } from '../compute/foreign-model.ts'
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
  /**
   * Verified bytes of a model outside the catalog, from the cache, the job's
   * `requester`, or peers advertising its hash; capped at FOREIGN_MODEL_MAX_BYTES;
   * cached and then advertised.
   * @throws {ModelTooLargeError} announced over the cap.
   * @throws {ModelUnavailableError} every source failed.
   */
  loadForeignModel: (ref: ForeignModelRef, options: { requester: string, signal?: AbortSignal, onProgress?: (progress: ModelProgress) => void }) => Promise<LoadedModel>
  /**
   * Caches bytes this peer vouches for (a model it posts a job with) and
   * advertises them, so its blob service serves them to volunteers.
   * @throws {StorageQuotaError} no room to cache them.
   */
  keepModel: (sha256: string, bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<void>
  /** Deletes a model from the cache and stops advertising it (to free storage; it is fetched again when needed). */
  dropModel: (sha256: string) => Promise<void>
  /** How many times a model was stored or deleted: changes once the cache holds the change (a list read after it is current). */
  cacheChanges: () => number
  stop: () => Promise<void>
}

/** A best guess before the compute layer has probed WebGPU: WASM with what isolation allows. */
export function defaultCapabilities (): Capabilities {
  const cores = typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency
  const threads = globalThis.crossOriginIsolated === true ? Math.max(1, Math.min(cores, 256)) : 1
  return { provider: 'wasm', threads, models: [] }
}

export async function startPeer (location: { search: string, origin: string }, options: { signal?: AbortSignal } = {}): Promise<Peer> {
  const capabilities = defaultCapabilities()
  const modelCache = new ModelCache()
  // Independent of each other: fetched and read together (each is a round trip to the server or IndexedDB).
  const [config, identity, models] = await Promise.all([loadNetConfig(location, options), loadOrCreateIdentity(), modelCache.list(options)])
  capabilities.models = models
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
  let cacheChanges = 0
  const advertise = (sha256: string): void => {
    if (capabilities.models.includes(sha256)) return
    capabilities.models = [...capabilities.models, sha256].sort()
    cacheChanges++
  }
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
    if (loaded.cacheError === undefined) advertise(entry.sha256)
    return loaded
  }
  const loadForeignModel: Peer['loadForeignModel'] = async (ref, loadOptions) => {
    const advertising = node.services.presence.live()
      .filter(hb => hb.peerId !== self && hb.peerId !== loadOptions.requester && hb.body.models.includes(ref.sha256))
      .map(hb => hb.peerId)
    const loaded = await loadForeignFrom(ref, {
      signal: loadOptions.signal,
      onProgress: loadOptions.onProgress,
      cache: modelCache,
      peers: [loadOptions.requester, ...shuffled(advertising)].map(id => peerIdFromString(id)),
      fetchBlob: async (peer, sha256, fetchOptions) => await node.services.blob.fetchBlob(peer, sha256, fetchOptions),
      bad: badSources
    })
    if (loaded.cacheError === undefined) advertise(ref.sha256)
    return loaded
  }
  const keepModel: Peer['keepModel'] = async (sha256, bytes, keepOptions = {}) => {
    await modelCache.put(sha256, bytes, keepOptions)
    advertise(sha256)
  }
  const dropModel: Peer['dropModel'] = async sha256 => {
    // Not advertised first: a peer asking meanwhile would be sent a "not found".
    capabilities.models = capabilities.models.filter(m => m !== sha256)
    try {
      await modelCache.delete(sha256)
    } finally {
      cacheChanges++
    }
  }
  return {
    node, identity, config, capabilities, modelCache, loadModel, loadForeignModel, keepModel, dropModel,
    cacheChanges: () => cacheChanges,
    stop: async () => { await node.stop() }
  }
}

/** A copy of `items` in random order (so no advertising peer is always asked first). */
function shuffled<T> (items: readonly T[]): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
