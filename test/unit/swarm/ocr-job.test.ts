/**
 * OCR jobs' two stages (src/swarm/ocr-job.ts) under onnxruntime-node: the
 * detection shard a volunteer computes, the recognition shards the requester
 * builds from the accepted map, and the results assembled from both read the
 * fixture exactly as the single-machine pipeline does (reference.json, made
 * by scripts/make-ocr-fixtures.ts). Then the pure bookkeeping: which images
 * still need stage 2, job batches, statuses, CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { decodeTensors, encodeTensors, makeTensor } from '../../../src/core/tensors.ts'
import { computeShard, type RunTensors } from '../../../src/compute/shard-task.ts'
import { detInput, ocrCharacters, recInput, recognizeText, recTensor } from '../../../src/compute/models/ocr.ts'
import type { RgbaImage } from '../../../src/compute/models/image.ts'
import {
  detShardInput, imagesToRead, isOcrJobMeta, isOcrRecMeta, ocrCsv, ocrResults, readLine, recJobBatches, recShards,
  type OcrJobMeta, type OcrRecMeta
} from '../../../src/swarm/ocr-job.ts'
import { nodeRunner } from '../compute/support/ort-node.ts'

const reference = JSON.parse(await readFile('test/fixtures/ocr/reference.json', 'utf8')) as {
  width: number, height: number, lines: Array<{ text: string, box: { x: number, y: number, width: number, height: number } }>
}

function meta (files: string[]): OcrJobMeta {
  return { kind: 'ocr', images: files.map(file => ({ file, width: 100, height: 50, type: 'image/png', bytes: new Uint8Array(0) })) }
}

describe('OCR job stages under onnxruntime-node', () => {
  let runner: Awaited<ReturnType<typeof nodeRunner>>
  let chars: string[]
  let image: RgbaImage
  const modelRun = (id: string): RunTensors => async feeds => await runner.run(id, feeds)
  beforeAll(async () => {
    runner = await nodeRunner()
    chars = ocrCharacters(new TextDecoder().decode(await runner.asset('ocr-rec-keys.txt')))
    image = { width: reference.width, height: reference.height, data: new Uint8Array(await readFile('test/fixtures/ocr/text.rgba')) }
  })
  afterAll(async () => { await runner.close() })

  it('a detection shard carries RGB bytes the volunteer turns into exactly the single-machine input', async () => {
    const shard = decodeTensors(detShardInput(image))
    expect(shard.ok).toBe(true)
    if (!shard.ok) return
    // 480×160 is already a multiple of 32: detected at full size, 3 bytes a pixel instead of 12.
    expect(shard.tensors.rgb).toMatchObject({ dtype: 'uint8', dims: [160, 480, 3] })
    let seen: Uint8Array | undefined
    await computeShard('ocr-det', detShardInput(image), async feeds => { seen = encodeTensors(feeds); return { out: makeTensor('float32', [1, 1, 2], [0.3, 0.7]) } })
    expect(seen).toEqual(encodeTensors(detInput(image).input))
  })

  it('stage 2 built from the accepted map, and the results from both stages, read what recognizeText reads', async () => {
    const detOutput = (await computeShard('ocr-det', detShardInput(image), modelRun('ocr-det'))).output
    const shards = recShards(0, image, detOutput)
    expect(shards).toHaveLength(reference.lines.length)
    shards.forEach((s, i) => {
      expect(s.crop.image).toBe(0)
      for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(s.crop.box[k] - reference.lines[i]!.box[k])).toBeLessThan(1)
    })
    const outputs = new Map<number, Uint8Array>()
    for (const [i, s] of shards.entries()) outputs.set(i, (await computeShard('ocr-rec', s.input, modelRun('ocr-rec'))).output)
    const rec: OcrRecMeta = { kind: 'ocr-rec', parent: 'det', crops: shards.map(s => s.crop) }
    const results = ocrResults({ kind: 'ocr', images: [{ file: 'text.png', width: image.width, height: image.height, type: 'image/png', bytes: new Uint8Array(0) }] }, {
      detected: new Map([[0, 'map0']]), detectFailed: new Set(), empty: new Map(), recs: [{ meta: rec, outputs, failed: new Set() }]
    }, out => readLine(out, chars))
    expect(results).toHaveLength(1)
    expect(results[0]).toMatchObject({ file: 'text.png', status: 'done', found: 2, read: 2 })
    expect(results[0]!.lines.map(l => l.text)).toEqual(reference.lines.map(l => l.text))
    const single = await recognizeText(image, runner.run, chars)
    expect(results[0]!.lines).toEqual(single)
  })

  it('a recognition shard hands in the likeliest class and its probability per step, which read as the whole output does', async () => {
    const detOutput = (await computeShard('ocr-det', detShardInput(image), modelRun('ocr-det'))).output
    for (const { input } of recShards(0, image, detOutput)) {
      let whole: Uint8Array | undefined
      const out = (await computeShard('ocr-rec', input, async feeds => {
        const r = await modelRun('ocr-rec')(feeds, {})
        whole = encodeTensors(r)
        return r
      })).output
      const decoded = decodeTensors(out)
      if (!decoded.ok) throw new Error(decoded.reason)
      const steps = decoded.tensors.best!.dims[1]!
      expect(Object.keys(decoded.tensors).sort()).toEqual(['best', 'prob'])
      expect(decoded.tensors.prob!.dims).toEqual([1, steps])
      expect(out.length).toBeLessThan(steps * 8 + 200)
      expect(whole!.length).toBeGreaterThan(steps * 6625 * 4)
      // Lines stored before (the whole [1, T, 6625] output) read the same.
      expect(readLine(out, chars)).toEqual(readLine(whole!, chars))
    }
  })

  it('a recognition shard is the crop at height 48, as recInput makes it', async () => {
    const detOutput = (await computeShard('ocr-det', detShardInput(image), modelRun('ocr-det'))).output
    const [first] = recShards(0, image, detOutput)
    let seen: Uint8Array | undefined
    await computeShard('ocr-rec', first!.input, async feeds => { seen = encodeTensors(feeds); return { out: makeTensor('float32', [1, 1, 2], [0.3, 0.7]) } })
    const b = first!.crop.box
    const { crop } = await import('../../../src/compute/models/image.ts')
    expect(seen).toEqual(encodeTensors(recInput(crop(image, Math.round(b.x), Math.round(b.y), Math.round(b.width), Math.round(b.height)))))
  })
})

describe('OCR shard inputs from other peers', () => {
  it('refuses pixels that are not uint8 [H, W, 3] at the model size, before allocating', async () => {
    const run: RunTensors = async () => { throw new Error('must not run') }
    const rgb = (dims: number[], dtype: 'uint8' | 'float32' = 'uint8'): Uint8Array =>
      encodeTensors({ rgb: makeTensor(dtype, dims, new Array(dims.reduce((a, b) => a * b, 1)).fill(0)) })
    await expect(computeShard('ocr-det', rgb([33, 64, 3]), run)).rejects.toThrow(/multiples of 32/)
    await expect(computeShard('ocr-det', rgb([992, 32, 3]), run)).rejects.toThrow(/up to 960/)
    await expect(computeShard('ocr-det', rgb([32, 32, 4]), run)).rejects.toThrow(/uint8 \[H, W, 3\]/)
    await expect(computeShard('ocr-rec', rgb([32, 64, 3]), run)).rejects.toThrow(/height 48/)
    await expect(computeShard('ocr-rec', rgb([48, 1928, 3]), run)).rejects.toThrow(/width 8 to 1920/)
    await expect(computeShard('ocr-rec', rgb([48, 64, 3], 'float32'), run)).rejects.toThrow(/got float32/)
    await expect(computeShard('ocr-rec', encodeTensors({ x: makeTensor('uint8', [1], [0]) }), run)).rejects.toThrow(/needs `rgb`/)
    await expect(computeShard('ocr-det', new Uint8Array([1, 2, 3]), run)).rejects.toThrow(/shard input/)
    expect(() => recTensor(makeTensor('uint8', [48, 8, 3], new Array(48 * 8 * 3).fill(255)))).not.toThrow()
  })

  it('refuses a detection output that is not a probability map', () => {
    const img = { width: 4, height: 4, data: new Uint8Array(64) }
    expect(() => recShards(0, img, encodeTensors({ y: makeTensor('float32', [1, 4], [0, 0, 0, 0]) }))).toThrow(/\[1, 1, H, W\]/)
    expect(() => recShards(0, img, new Uint8Array([0xff]))).toThrow(/detection output/)
  })
})

describe('OCR job bookkeeping', () => {
  /** A recognition job over these images' lines; with `maps`, cropped from those detection outputs (else a job from before they were recorded). */
  const rec = (parent: string, images: number[], maps?: Record<number, string>): OcrRecMeta => ({
    kind: 'ocr-rec',
    parent,
    crops: images.map(image => ({ image, box: { x: 0, y: 0, width: 10, height: 5 } })),
    ...(maps !== undefined ? { maps: Object.entries(maps).map(([image, outputHash]) => ({ image: Number(image), outputHash })) } : {})
  })
  /** Accepted detection outputs: image i's is `map<i>` unless given. */
  const maps = (images: number[], changed: Record<number, string> = {}): Map<number, string> => new Map(images.map(i => [i, changed[i] ?? `map${i}`]))

  it('an image needs stage 2 once detected, until a recognition job holds its lines or it has none', () => {
    expect(imagesToRead(maps([3, 0, 1, 2]), [], new Map())).toEqual([0, 1, 2, 3])
    expect(imagesToRead(maps([0, 1, 2, 3]), [rec('d', [1, 1, 1]), rec('d', [3])], maps([2]))).toEqual([0])
    expect(imagesToRead(maps([0, 1, 2, 3]), [rec('d', [1, 1, 1], { 1: 'map1' }), rec('d', [3], { 3: 'map3' })], maps([2]))).toEqual([0])
    expect(imagesToRead(new Map(), [rec('d', [0])], new Map())).toEqual([])
  })

  it('an image whose detection was re-verified with another answer is read again; the same answer is not read twice', () => {
    const recs = [rec('d', [0, 0, 1, 2], { 0: 'map0', 1: 'map1', 2: 'map2' })]
    // Images 1 (lines) and 3 (none) were accepted again with other maps after stage 2 was posted; image 0 with the same one.
    const now = maps([0, 1, 2, 3], { 1: 'map1-new', 3: 'map3-new' })
    expect(imagesToRead(now, recs, maps([3]))).toEqual([1, 3])
    // Once the new maps' lines are posted (or found empty), nothing is left to read.
    expect(imagesToRead(now, [...recs, rec('d', [1, 1], { 1: 'map1-new' })], maps([3], { 3: 'map3-new' }))).toEqual([])
    // While image 2 is being re-verified it is not detected: nothing to post for it yet.
    expect(imagesToRead(maps([0, 1]), recs, new Map())).toEqual([])
  })

  it('sets aside the lines of a detection answer that was replaced, and shows the new answer\'s lines', () => {
    const chars = ['', 'a', 'b', ' ']
    const line = (steps: number[]): Uint8Array => encodeTensors({ p: makeTensor('float32', [1, steps.length, 4], steps.flatMap(s => chars.map((_, c) => c === s ? 0.7 : 0.1))) })
    const m = meta(['a.png', 'b.png'])
    const old = { meta: rec('d', [0, 1], { 0: 'map0', 1: 'map1' }), outputs: new Map([[0, line([1])], [1, line([2])]]), failed: new Set<number>() }
    const read = (out: Uint8Array): { text: string, score: number } => readLine(out, chars)
    const texts = (stages: Parameters<typeof ocrResults>[1]): Array<[string, string, boolean, string[]]> =>
      ocrResults(m, stages, read).map(r => [r.file, r.status, r.rechecked, r.lines.map(l => l.text)])
    expect(texts({ detected: maps([0, 1]), detectFailed: new Set(), empty: new Map(), recs: [old] })).toEqual([
      ['a.png', 'done', false, ['a']], ['b.png', 'done', false, ['b']]
    ])
    // Image 1's detection is reopened for re-verification: finding text again, its old line set aside.
    expect(texts({ detected: maps([0]), detectFailed: new Set(), empty: new Map(), recs: [old] })).toEqual([
      ['a.png', 'done', false, ['a']], ['b.png', 'detecting', true, []]
    ])
    // Accepted with another map: read again from it, the old line still set aside.
    const again = { meta: rec('d', [1], { 1: 'map1-new' }), outputs: new Map<number, Uint8Array>(), failed: new Set<number>() }
    const after = { detected: maps([0, 1], { 1: 'map1-new' }), detectFailed: new Set<number>(), empty: new Map<number, string>(), recs: [old, again] }
    expect(texts(after)).toEqual([['a.png', 'done', false, ['a']], ['b.png', 'reading', true, []]])
    again.outputs.set(0, line([1, 0, 2]))
    expect(texts(after)).toEqual([['a.png', 'done', false, ['a']], ['b.png', 'done', true, ['ab']]])
    expect(ocrResults(m, after, read)[1]).toMatchObject({ found: 1, read: 1 })
    // Accepted again with the same map: the lines already read count again.
    expect(texts({ detected: maps([0, 1]), detectFailed: new Set(), empty: new Map(), recs: [old] })[1]).toEqual(['b.png', 'done', false, ['b']])
  })

  it('batches lines into jobs under the shard limit without splitting an image', () => {
    expect(recJobBatches([[1, 2], [3], [4, 5, 6]], 3)).toEqual([[1, 2, 3], [4, 5, 6]])
    expect(recJobBatches([[1], [2], [3], [4]], 3)).toEqual([[1, 2, 3], [4]])
    expect(recJobBatches([], 3)).toEqual([])
    expect(() => recJobBatches([[1, 2, 3, 4]], 3)).toThrow(RangeError)
  })

  it('assembles statuses and lines per image from both stages', () => {
    const chars = ['', 'a', 'b', ' ']
    const line = (steps: number[]): Uint8Array => encodeTensors({ p: makeTensor('float32', [1, steps.length, 4], steps.flatMap(s => chars.map((_, c) => c === s ? 0.7 : 0.1))) })
    const m = meta(['a.png', 'b.png', 'c.png', 'd.png', 'e.png'])
    const r1 = rec('d', [0, 0, 1])
    r1.crops[1]!.box = { x: 1, y: 20, width: 30, height: 9 }
    const stages = {
      detected: maps([0, 1, 2, 4]),
      detectFailed: new Set([3]),
      empty: maps([2]),
      recs: [{ meta: r1, outputs: new Map([[0, line([1, 1, 0, 2])], [1, line([0, 3, 0])], [2, line([2])]]), failed: new Set<number>() }]
    }
    const results = ocrResults(m, stages, out => readLine(out, chars))
    expect(results.map(r => [r.file, r.status, r.found, r.read])).toEqual([
      ['a.png', 'done', 2, 2], ['b.png', 'done', 1, 1], ['c.png', 'done', 0, 0], ['d.png', 'failed', 0, 0], ['e.png', 'reading', 0, 0]
    ])
    // The blank line (only a space) is left out, as recognizeText does.
    expect(results[0]!.lines).toEqual([{ box: { x: 0, y: 0, width: 10, height: 5 }, text: 'ab', score: expect.closeTo(0.7, 5) }])
    // A line still being verified keeps its image reading; a failed one counts as read (without text).
    stages.recs[0]!.outputs.delete(2)
    expect(ocrResults(m, stages, out => readLine(out, chars))[1]).toMatchObject({ status: 'reading', found: 1, read: 0 })
    stages.recs[0]!.failed.add(2)
    expect(ocrResults(m, stages, out => readLine(out, chars))[1]).toMatchObject({ status: 'done', found: 1, read: 1, lines: [] })
    // Without the dictionary nothing is read yet.
    expect(ocrResults(m, stages, () => undefined)[0]).toMatchObject({ status: 'reading', read: 0, lines: [] })
  })

  it('exports one CSV row per line, quoting texts that need it', () => {
    const csv = ocrCsv([
      { image: 0, file: 'a,b.png', width: 10, height: 10, status: 'done', found: 2, read: 2, rechecked: false, lines: [
        { box: { x: 1.234, y: 2, width: 3.456, height: 4 }, text: 'say "hi"', score: 0.98765 },
        { box: { x: 5, y: 6, width: 7, height: 8 }, text: 'plain', score: 1 }
      ] },
      { image: 1, file: 'empty.png', width: 10, height: 10, status: 'done', found: 0, read: 0, rechecked: false, lines: [] }
    ])
    expect(csv).toBe('file,x,y,width,height,text,score\n"a,b.png",1.23,2,3.46,4,"say ""hi""",0.9877\n"a,b.png",5,6,7,8,plain,1.0000\n')
  })

  it('tells OCR job metas apart from others and from junk', () => {
    expect(isOcrJobMeta(meta(['a']))).toBe(true)
    expect(isOcrRecMeta(rec('d', [0]))).toBe(true)
    expect(isOcrRecMeta(rec('d', [0], { 0: 'map0' }))).toBe(true)
    for (const junk of [null, undefined, 1, 'ocr', {}, { kind: 'ocr' }, { kind: 'ocr-rec', parent: 1, crops: [] }, { kind: 'ocr-rec', parent: 'd', crops: [], maps: 'x' }, { kind: 'digits', files: [] }]) {
      expect(isOcrJobMeta(junk)).toBe(false)
      expect(isOcrRecMeta(junk)).toBe(false)
    }
  })
})
