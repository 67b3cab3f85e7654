/**
 * Bytes of a model that is not in the catalog: a requester's own .onnx
 * (DESIGN.md "Data flow" step 3, "Security rules"). The job manifest names
 * its id, sha256 and (since it was added) its size; unlike catalog models
 * there is no origin file. Sources, in order:
 *
 * 1. the local cache (hash re-checked);
 * 2. the peers the caller lists: the job's requester first (it always holds
 *    the bytes it posted), then peers advertising the hash in presence, at
 *    most {@link FOREIGN_MODEL_MAX_PEER_ATTEMPTS} of them.
 *
 * Why a hard size cap: the blob header announces a size the volunteer
 * would allocate. A model the manifest declares larger than
 * {@link FOREIGN_MODEL_MAX_BYTES} is refused with {@link ModelTooLargeError}
 * before anything is fetched; otherwise every transfer must announce exactly
 * the declared size, and bytes that hash right but differ from it mean the
 * manifest misdescribes its model ({@link ModelSizeMismatchError}). A
 * manifest from before sizes were declared has only the cap: a model
 * announced larger is refused when no source could deliver it within it.
 * Either way the volunteer can say why it skips the job.
 *
 * Every source's bytes are hashed here before they are returned or cached;
 * a source that sent other bytes is added to the caller's `bad` set.
 * Like model-source.ts, this file may not import src/net: the blob client is
 * injected, and its errors are recognised by `err.name`.
 */
import { sha256Hex } from '../core/bytes.ts'
import {
  ModelUnavailableError, SourceHashMismatchError,
  type FetchBlob, type LoadedModel, type ModelBytesCache, type ModelProgress, type ModelSource, type SourceFailure
} from './model-source.ts'

/** Largest model a volunteer accepts from outside the catalog. */
export const FOREIGN_MODEL_MAX_BYTES = 64 * 1024 * 1024

/** Peers asked for a foreign model before giving up for now (the requester plus a few that cached it). */
export const FOREIGN_MODEL_MAX_PEER_ATTEMPTS = 4

/** A model outside the catalog is announced larger than this peer accepts. */
export class ModelTooLargeError extends Error {
  override readonly name = 'ModelTooLargeError' as const
  constructor (readonly model: string, readonly bytes: number | undefined, readonly limit: number) {
    super(`model ${model} is ${bytes === undefined ? 'larger than' : `${mib(bytes)} (${bytes} bytes), over`} the ${mib(limit)} limit for models that are not in the catalog`)
  }
}

/** The bytes with the manifest's sha256 are not the size the manifest declares: the job misdescribes its model. */
export class ModelSizeMismatchError extends Error {
  override readonly name = 'ModelSizeMismatchError' as const
  constructor (readonly model: string, readonly declared: number, readonly actual: number) {
    super(`model ${model} is declared as ${declared} bytes by its job, but the bytes with its sha256 are ${actual} bytes`)
  }
}

function mib (bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** The manifest's model reference; `bytes` is the declared size (absent in older manifests). */
export interface ForeignModelRef { id: string, sha256: string, bytes?: number }

export interface LoadForeignModelOptions<P extends { toString: () => string }> {
  signal?: AbortSignal
  onProgress?: (progress: ModelProgress) => void
  cache?: ModelBytesCache
  /** Peers to ask, in this order (duplicates are asked once). */
  peers: P[]
  fetchBlob: FetchBlob<P>
  /** Cap on the bytes accepted (default {@link FOREIGN_MODEL_MAX_BYTES}). */
  maxBytes?: number
  /** Peers that served wrong bytes before: skipped, and added to on mismatch. */
  bad?: Set<string>
  onSourceFailed?: (failure: SourceFailure) => void
}

/**
 * The verified bytes of a model outside the catalog.
 * @throws {ModelTooLargeError} the manifest declares more than the cap (nothing fetched), or, with no declared size, a source announced more and none delivered within it.
 * @throws {ModelSizeMismatchError} bytes with the right hash are not the declared size.
 * @throws {ModelUnavailableError} every source failed (hash mismatches as SourceHashMismatchError).
 * @throws the signal's reason when the caller aborts.
 */
export async function loadForeignModel<P extends { toString: () => string }> (ref: ForeignModelRef, options: LoadForeignModelOptions<P>): Promise<LoadedModel> {
  const { signal, cache } = options
  const limit = options.maxBytes ?? FOREIGN_MODEL_MAX_BYTES
  const bad = options.bad ?? new Set<string>()
  const declared = ref.bytes
  if (declared !== undefined && declared > limit) throw new ModelTooLargeError(ref.id, declared, limit)
  const failures: SourceFailure[] = []
  /** Set when a source announced more than the cap (with the size when known). */
  let tooLarge: { bytes: number | undefined } | undefined
  const fail = (source: ModelSource, error: Error): void => {
    signal?.throwIfAborted()
    failures.push({ source, error })
    options.onSourceFailed?.({ source, error })
  }
  signal?.throwIfAborted()

  if (cache !== undefined) {
    let cached: Uint8Array | undefined
    try {
      cached = await cache.get(ref.sha256, { signal })
    } catch (err) {
      fail({ kind: 'cache' }, err as Error)
    }
    if (cached !== undefined) {
      const actual = await sha256Hex(cached)
      if (actual === ref.sha256 && declared !== undefined && cached.length !== declared) throw new ModelSizeMismatchError(ref.id, declared, cached.length)
      if (actual === ref.sha256 && cached.length <= limit) {
        options.onProgress?.({ source: 'cache', received: cached.length, total: cached.length })
        return { bytes: cached, source: { kind: 'cache' } }
      }
      if (actual !== ref.sha256) {
        fail({ kind: 'cache' }, new SourceHashMismatchError({ kind: 'cache' }, ref.sha256, actual))
        await cache.delete?.(ref.sha256, { signal })
      } else {
        tooLarge = { bytes: cached.length }
      }
    }
  }

  const seen = new Set<string>()
  const candidates = options.peers.filter(p => {
    const id = p.toString()
    if (seen.has(id) || bad.has(id)) return false
    seen.add(id)
    return true
  })
  for (const peer of candidates.slice(0, FOREIGN_MODEL_MAX_PEER_ATTEMPTS)) {
    const source: ModelSource = { kind: 'peer', peer: peer.toString() }
    let bytes: Uint8Array
    try {
      bytes = await options.fetchBlob(peer, ref.sha256, {
        signal,
        // With a declared size, a peer announcing any other is refused before anything is allocated.
        maxBytes: declared ?? limit,
        ...(declared !== undefined ? { expectedBytes: declared } : {}),
        onProgress: p => options.onProgress?.({ source: 'peer', peer: source.peer, received: p.received, total: p.total })
      })
    } catch (err) {
      const error = err as Error & { actual?: string, size?: number }
      if (error.name === 'BlobHashMismatchError') {
        bad.add(source.peer)
        fail(source, new SourceHashMismatchError(source, ref.sha256, error.actual, { cause: error }))
      } else {
        // Over our cap (size known) or over the serving peer's own limit (size unknown). Over a
        // declared size it is only this peer's word against the signed manifest: try the next one.
        if (error.name === 'BlobTooLargeError' && declared === undefined) tooLarge = { bytes: error.size ?? tooLarge?.bytes }
        fail(source, error)
      }
      continue
    }
    const actual = await sha256Hex(bytes)
    if (actual !== ref.sha256) {
      bad.add(source.peer)
      fail(source, new SourceHashMismatchError(source, ref.sha256, actual))
      continue
    }
    // The hash pins the bytes: another length means the manifest is wrong, not the peer.
    if (declared !== undefined && bytes.length !== declared) throw new ModelSizeMismatchError(ref.id, declared, bytes.length)
    const loaded: LoadedModel = { bytes, source }
    if (cache === undefined) return loaded
    try {
      await cache.put(ref.sha256, bytes, { signal })
      return loaded
    } catch (err) {
      signal?.throwIfAborted()
      return { ...loaded, cacheError: err as Error }
    }
  }
  if (tooLarge !== undefined) throw new ModelTooLargeError(ref.id, tooLarge.bytes, limit)
  throw new ModelUnavailableError(ref.id, failures)
}
