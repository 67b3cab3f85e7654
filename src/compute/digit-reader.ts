/**
 * Reads the images of a digits job into the gray levels each shard carries
 * (`digitGray`), on a few module Workers (src/compute/digit-reader-worker.ts)
 * with several images in flight on each, results in input order. On the
 * page's own thread, reading a 12,288-image job kept it busy for 8 s and
 * used one core; the page stays responsive now and every core decodes.
 * Browser only, like decoding itself (createImageBitmap, OffscreenCanvas).
 */
import { mapPooled } from '../core/pool.ts'
import { aboutFile, CancelledError, reviveComputeError, WorkerFailedError, type WireError } from './errors.ts'

/** Page → worker: one file to read. */
export interface DigitRequest { id: number, file: Blob }
/** Worker → page: its gray levels, or why not. */
export type DigitReply = { id: number, gray: Uint8Array } | { id: number, error: WireError }

/** Most readers: beyond a few, they only compete for memory. */
const MAX_READERS = 4
/** Images in flight per reader: the browser decodes off the reader's own thread part of the time. */
const IN_FLIGHT_PER_READER = 4

export interface ReadDigitsOptions {
  /** Called as images complete, with how many have. */
  onProgress?: (done: number) => void
  signal?: AbortSignal
}

/**
 * The gray levels of every image, in input order; `names[i]` is what errors call `files[i]`.
 * @throws {BadInputError} (or another compute error) about the earliest file that cannot be read, naming it.
 * @throws {CancelledError} the signal was aborted.
 */
export async function readDigits (files: readonly Blob[], names: readonly string[], options: ReadDigitsOptions = {}): Promise<Uint8Array[]> {
  if (files.length === 0) return []
  const named = (err: unknown, index: number): unknown => err instanceof CancelledError ? err : aboutFile(err, names[index] ?? `file ${index + 1}`)
  // One reader per core, at most MAX_READERS.
  const count = Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, MAX_READERS, files.length))
  const readers = Array.from({ length: count }, () => new Reader())
  const stop = (): void => { readers.forEach(r => { r.close(new CancelledError('reading the files was cancelled')) }) }
  options.signal?.addEventListener('abort', stop, { once: true })
  try {
    return await mapPooled(files, async (file, index) => {
      // The reader with the fewest images in hand.
      const reader = readers.reduce((a, b) => b.pending.size < a.pending.size ? b : a)
      try {
        return await reader.read(file)
      } catch (err) {
        throw named(err, index)
      }
    }, { limit: count * IN_FLIGHT_PER_READER, onProgress: options.onProgress, signal: options.signal })
  } finally {
    options.signal?.removeEventListener('abort', stop)
    readers.forEach(r => { r.close(new CancelledError('reading is over')) })
  }
}

/** One worker and the reads waiting on it. */
class Reader {
  readonly pending = new Map<number, { resolve: (gray: Uint8Array) => void, reject: (err: Error) => void }>()
  private readonly worker = new Worker(new URL('./digit-reader-worker.ts', import.meta.url), { type: 'module', name: 'essaim-digit-reader' })
  private nextId = 1
  private failed: Error | undefined

  constructor () {
    this.worker.onmessage = (e: MessageEvent<DigitReply>) => {
      const reply = e.data
      const p = this.pending.get(reply.id)
      if (p === undefined) return
      this.pending.delete(reply.id)
      if ('gray' in reply) p.resolve(reply.gray)
      else p.reject(reviveComputeError(reply.error))
    }
    this.worker.onerror = (e: ErrorEvent) => { this.close(new WorkerFailedError(`the image reader failed: ${e.message ?? 'script error'}`)) }
    this.worker.onmessageerror = () => { this.close(new WorkerFailedError('the image reader sent an unreadable message')) }
  }

  async read (file: Blob): Promise<Uint8Array> {
    if (this.failed !== undefined) throw this.failed
    const id = this.nextId++
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      const msg: DigitRequest = { id, file }
      this.worker.postMessage(msg)
    })
  }

  /** Ends the worker; reads still waiting fail with `err`. */
  close (err: Error): void {
    this.failed ??= err
    this.worker.terminate()
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}
