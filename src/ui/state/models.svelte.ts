/**
 * State of the Models page: the catalog, which execution provider and how
 * many threads this browser gets (and why), each model's load status, and
 * the result or error of the last try of each pipeline (digits, OCR, voice
 * activity, bring-your-own). Models run in the compute worker through one
 * ComputeClient; bytes come from this browser's peer once it has started
 * (Peer.loadModel: cache → peers → origin, each checked against the catalog
 * sha256, then cached), from the origin before that, and are re-checked by
 * the worker.
 */
import { decodeTensors, encodeTensors, type TensorMap } from '../../core/tensors.ts'
import { errorInfo, type ErrorInfo } from '../../core/errors.ts'
import { sha256Hex } from '../../core/bytes.ts'
import { bundledCatalog } from '../../compute/bundled-catalog.ts'
import type { CatalogModel } from '../../compute/catalog.ts'
import { ComputeClient, type LoadedModel } from '../../compute/client.ts'
import { BadInputError, WorkerFailedError } from '../../compute/errors.ts'
import { loadModel, ModelUnavailableError } from '../../compute/model-source.ts'
import { selectProvider, selectThreads, type ProviderChoice, type ThreadChoice } from '../../compute/providers.ts'
import { decodeImage, type RgbaImage } from '../../compute/models/image.ts'
import { ocrCharacters, recognizeText, type OcrLine } from '../../compute/models/ocr.ts'
import { detectSpeech, type SpeechSegment } from '../../compute/models/vad.ts'
import { digitPixels, digitPredictions, digitsInput, type DigitPrediction } from '../../compute/models/digits.ts'
import { npyTensors, parseJsonTensors } from '../../compute/models/byo.ts'
import type { RunModel } from '../../compute/models/runner.ts'
import type { ValueInfo } from '../../compute/protocol.ts'
import type { Peer } from '../../swarm/peer.ts'

/** An error as the page shows it: the class name (stable, tested), its message, and the code and parameters src/ui/errors.ts words. */
export type ShownError = ErrorInfo

export type ModelStatus =
  | { state: 'idle' }
  | { state: 'loading', stage: string }
  | { state: 'ready', loaded: LoadedModel }
  | { state: 'error', error: ShownError }

export type TryState<T> = { state: 'idle' } | { state: 'busy' } | { state: 'done', value: T, ms: number } | { state: 'error', error: ShownError }

export interface OcrResult { lines: OcrLine[], width: number, height: number, url: string }
export interface VadResult { segments: SpeechSegment[], probs: number[], durationMs: number }
export interface ByoModel { name: string, sha256: string, bytes: number, loaded: LoadedModel }

function shown (err: unknown): ShownError {
  if (err instanceof ModelUnavailableError) {
    // Say why each source failed; a source that sent wrong bytes is the case users must see named.
    const detail = err.failures.map(f => f.error.message).join('; ')
    const mismatch = err.failures.some(f => f.error.name === 'ModelHashMismatchError')
    return { name: mismatch ? 'ModelHashMismatchError' : err.name, message: `${err.message}. ${detail}` }
  }
  return errorInfo(err)
}

async function fileBytes (file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer())
}

export class ModelsState {
  readonly catalog = bundledCatalog()
  threads = $state<ThreadChoice>(selectThreads({ crossOriginIsolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency }))
  /** The provider this browser would get (the worker decides the same way; its answer replaces this after a load). */
  provider = $state<ProviderChoice | undefined>(undefined)
  status = $state<Record<string, ModelStatus>>({})
  digits = $state<TryState<DigitPrediction>>({ state: 'idle' })
  ocr = $state<TryState<OcrResult>>({ state: 'idle' })
  vad = $state<TryState<VadResult>>({ state: 'idle' })
  byoModel = $state<TryState<ByoModel>>({ state: 'idle' })
  byoRun = $state<TryState<TensorMap>>({ state: 'idle' })

  private client: ComputeClient | undefined
  private readonly inflight = new Map<string, Promise<LoadedModel>>()
  private dictionary: Promise<string[]> | undefined

  /** `peer` gives this browser's peer once it has started (its model cache and peers), or undefined. */
  constructor (private readonly peer: () => Pick<Peer, 'loadModel'> | undefined = () => undefined) {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter: () => Promise<unknown> } }).gpu
    void selectProvider({ gpu, preferGpu: true, wasm: typeof WebAssembly === 'object' })
      .then(choice => { this.provider ??= choice }, (err: Error) => { this.provider = { provider: 'wasm', reason: { code: 'unavailable', error: err.message } } })
  }

  model (id: string): CatalogModel | undefined {
    return this.catalog.models.find(m => m.id === id)
  }

  private compute (): ComputeClient {
    this.client ??= new ComputeClient({ threads: this.threads.threads })
    return this.client
  }

  /** Loads a catalog model (once; concurrent callers share the load). */
  async ensure (id: string, options: { signal?: AbortSignal } = {}): Promise<LoadedModel> {
    const entry = this.model(id)
    if (entry === undefined) throw new BadInputError(`no model ${id} in the catalog`)
    let p = this.inflight.get(id)
    if (p === undefined) {
      p = (async () => {
        this.status[id] = { state: 'loading', stage: 'downloading' }
        const { bytes } = await (this.peer()?.loadModel ?? loadModel)(entry, {
          signal: options.signal,
          onProgress: pr => { this.status[id] = { state: 'loading', stage: `downloading ${Math.round(100 * pr.received / Math.max(1, pr.total))} %` } }
        })
        const loaded = await this.compute().load({ sha256: entry.sha256, bytes }, {
          signal: options.signal,
          batchable: entry.batchable,
          onProgress: stage => { this.status[id] = { state: 'loading', stage } }
        })
        this.status[id] = { state: 'ready', loaded }
        this.provider = { provider: loaded.provider, reason: loaded.reason }
        return loaded
      })()
      this.inflight.set(id, p)
      p.catch(err => { this.inflight.delete(id); this.status[id] = { state: 'error', error: shown(err) } })
    }
    return await p
  }

  /** The RunModel the pipelines use: catalog id → worker run, tensors as canonical bytes both ways. */
  readonly run: RunModel = async (id, inputs, options = {}) => {
    const loaded = await this.ensure(id, options)
    const result = await this.compute().run(loaded.sha256, encodeTensors(inputs), options)
    const out = decodeTensors(result.output)
    if (!out.ok) throw new WorkerFailedError(`worker returned undecodable outputs: ${out.reason}`)
    return out.tensors
  }

  private async attempt<T> (set: (s: TryState<T>) => void, work: () => Promise<T>): Promise<void> {
    set({ state: 'busy' })
    const t0 = performance.now()
    try {
      const value = await work()
      set({ state: 'done', value, ms: performance.now() - t0 })
    } catch (err) {
      set({ state: 'error', error: shown(err) })
    }
  }

  async tryDigitImage (image: RgbaImage | Blob): Promise<void> {
    await this.attempt(s => { this.digits = s }, async () => {
      const img = image instanceof Blob ? await decodeImage(image) : image
      const out = await this.run('digits', digitsInput([digitPixels(img)]))
      const logits = out.logits ?? Object.values(out)[0]
      if (logits === undefined) throw new WorkerFailedError('the digits model returned no output')
      return digitPredictions(logits)[0]!
    })
  }

  async tryOcr (file: Blob): Promise<void> {
    const previous = this.ocr
    if (previous.state === 'done') URL.revokeObjectURL(previous.value.url)
    await this.attempt(s => { this.ocr = s }, async () => {
      const img = await decodeImage(file)
      this.dictionary ??= this.ocrDictionary()
      const lines = await recognizeText(img, this.run, await this.dictionary)
      return { lines, width: img.width, height: img.height, url: URL.createObjectURL(file) }
    })
  }

  private async ocrDictionary (): Promise<string[]> {
    const asset = this.model('ocr-rec')?.assets[0]
    if (asset === undefined) throw new BadInputError('the catalog has no OCR dictionary')
    const res = await fetch(new URL(`models/${asset.file}`, document.baseURI))
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (!res.ok || await sha256Hex(bytes) !== asset.sha256) throw new BadInputError(`the OCR dictionary ${asset.file} is missing or does not match the catalog`)
    return ocrCharacters(new TextDecoder().decode(bytes))
  }

  async tryVad (file: Blob): Promise<void> {
    await this.attempt(s => { this.vad = s }, async () => await detectSpeech(await fileBytes(file), this.run))
  }

  /** Reads an .onnx the user dropped: hashes it, loads it in the worker, which reports its inputs and outputs. */
  async loadByo (file: File): Promise<void> {
    this.byoRun = { state: 'idle' }
    await this.attempt(s => { this.byoModel = s }, async () => {
      const bytes = await fileBytes(file)
      const sha256 = await sha256Hex(bytes)
      const loaded = await this.compute().load({ sha256, bytes })
      return { name: file.name, sha256, bytes: bytes.length, loaded }
    })
  }

  /** Runs the dropped model on .npy files (one per input, named after it) or one JSON file. */
  async runByo (files: File[]): Promise<void> {
    const model = this.byoModel
    await this.attempt(s => { this.byoRun = s }, async () => {
      if (model.state !== 'done') throw new BadInputError('drop an .onnx model first')
      const inputs: readonly ValueInfo[] = model.value.loaded.inputs
      if (files.length === 0) throw new BadInputError('drop .npy or .json input files')
      const json = files.find(f => f.name.toLowerCase().endsWith('.json'))
      const map = json !== undefined
        ? parseJsonTensors(await json.text(), inputs)
        : npyTensors(await Promise.all(files.map(async f => ({ name: f.name, bytes: await fileBytes(f) }))), inputs)
      const result = await this.compute().run(model.value.sha256, encodeTensors(map))
      const out = decodeTensors(result.output)
      if (!out.ok) throw new WorkerFailedError(out.reason)
      return out.tensors
    })
  }

  /**
   * Sets the CPU budget (threads) for trying models here. ORT fixes its thread
   * count when it starts, so this replaces the worker; models load again on next use.
   */
  setBudget (threads: number | undefined): void {
    this.threads = selectThreads({ crossOriginIsolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency, budget: threads })
    this.stop()
    this.inflight.clear()
    this.status = {}
    this.digits = { state: 'idle' }
    this.ocr = { state: 'idle' }
    this.vad = { state: 'idle' }
    this.byoModel = { state: 'idle' }
    this.byoRun = { state: 'idle' }
  }

  stop (): void {
    this.client?.terminate()
    this.client = undefined
  }
}
