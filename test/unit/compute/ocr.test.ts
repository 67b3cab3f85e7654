import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { makeTensor } from '../../../src/core/tensors.ts'
import { ctcDecode, dbBoxes, ocrCharacters, recognizeText } from '../../../src/compute/models/ocr.ts'
import { nodeRunner } from './support/ort-node.ts'

const reference = JSON.parse(await readFile('test/fixtures/ocr/reference.json', 'utf8')) as {
  width: number, height: number, drawn: string[], lines: Array<{ text: string, box: { x: number, y: number, width: number, height: number } }>
}

describe('OCR pipeline under onnxruntime-node', () => {
  let runner: Awaited<ReturnType<typeof nodeRunner>>
  let chars: string[]
  beforeAll(async () => {
    runner = await nodeRunner()
    chars = ocrCharacters(new TextDecoder().decode(await runner.asset('ocr-rec-keys.txt')))
  })
  afterAll(async () => { await runner.close() })

  it('the dictionary gives the 6625 classes the recogniser outputs', () => {
    expect(chars).toHaveLength(6625)
    expect(chars[0]).toBe('')
    expect(chars.at(-1)).toBe(' ')
  })

  it('reads back the text drawn in the fixture, line by line, in reading order', async () => {
    const data = new Uint8Array(await readFile('test/fixtures/ocr/text.rgba'))
    const lines = await recognizeText({ width: reference.width, height: reference.height, data }, runner.run, chars)
    // PP-OCRv4 (a Chinese-first model) drops most inter-word spaces in Latin text; the letters must all be there.
    expect(lines.map(l => l.text.replace(/\s/g, ''))).toEqual(reference.drawn.map(t => t.replace(/\s/g, '')))
    expect(lines.map(l => l.text)).toEqual(reference.lines.map(l => l.text))
    for (const [i, l] of lines.entries()) {
      expect(l.score).toBeGreaterThan(0.9)
      expect(l.box.y).toBeCloseTo(reference.lines[i]!.box.y, 1)
    }
  })

  it('finds nothing on a blank page', async () => {
    const blank = new Uint8Array(320 * 96 * 4).fill(255)
    expect(await recognizeText({ width: 320, height: 96, data: blank }, runner.run, chars)).toEqual([])
  })
})

describe('DB post-process and CTC decoding', () => {
  it('turns two separate blobs into two boxes, top one first, expanded by unclip', () => {
    const w = 40; const h = 20
    const p = new Float32Array(w * h)
    for (let y = 12; y < 16; y++) for (let x = 5; x < 25; x++) p[y * w + x] = 0.9
    for (let y = 2; y < 6; y++) for (let x = 10; x < 30; x++) p[y * w + x] = 0.8
    const boxes = dbBoxes(makeTensor('float32', [1, 1, h, w], p))
    expect(boxes).toHaveLength(2)
    expect(boxes[0]!.y).toBeLessThan(boxes[1]!.y)
    // 20×4 blob: d = 80 × 1.5 / 48 = 2.5 pixels on each side.
    expect(boxes[0]).toMatchObject({ x: 7.5, y: 0, width: 25, height: 8.5 })
    expect(boxes[0]!.score).toBeCloseTo(0.8, 5)
  })
  it('drops blobs whose mean probability is under the box threshold', () => {
    const p = new Float32Array(20 * 20).fill(0.4)
    expect(dbBoxes(makeTensor('float32', [1, 1, 20, 20], p))).toEqual([])
  })
  it('merges repeats and drops blanks', () => {
    const chars = ['', 'a', 'b', ' ']
    const steps = [1, 1, 0, 1, 2, 2, 3, 0]
    const probs = steps.flatMap(s => chars.map((_, c) => c === s ? 0.9 : 0.1 / 3))
    expect(ctcDecode(makeTensor('float32', [1, steps.length, 4], probs), chars)).toEqual({ text: 'aab ', score: expect.closeTo(0.9, 5) })
  })
  it('refuses an output whose class count differs from the dictionary', () => {
    expect(() => ctcDecode(makeTensor('float32', [1, 1, 3], [1, 0, 0]), ['', 'a'])).toThrow(/3 classes/)
  })
})
