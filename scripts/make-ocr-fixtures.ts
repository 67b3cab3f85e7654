/**
 * Makes the OCR fixture: two lines of known text drawn by Chromium on a
 * canvas (DejaVu Sans, black on white), saved as PNG (what the e2e test
 * uploads) and as raw RGBA (what Node reads, no PNG decoder needed), then the
 * reference output of our OCR pipeline under onnxruntime-node.
 *
 * Usage: npx tsx scripts/make-ocr-fixtures.ts
 * Writes test/fixtures/ocr/{text.png, text.rgba, reference.json}.
 */
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium } from '@playwright/test'
import { CHROMIUM_ARGS, findChromium } from '../test/e2e/support/chromium.ts'
import { ROOT, nodeRunner } from '../test/unit/compute/support/ort-node.ts'
import { ocrCharacters, recognizeText } from '../src/compute/models/ocr.ts'

/** The text drawn, one entry per line: what OCR must read back. */
export const OCR_LINES = ['Essaim volunteer compute', 'Shard 42 verified']
const WIDTH = 480
const HEIGHT = 160

async function render (): Promise<{ png: Uint8Array, rgba: Uint8Array }> {
  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS })
  try {
    const page = await browser.newPage()
    const out = await page.evaluate(async ({ lines, width, height }) => {
      const canvas = new OffscreenCanvas(width, height)
      const ctx = canvas.getContext('2d')!
      ctx.fillStyle = '#ffffff'
      ctx.fillRect(0, 0, width, height)
      ctx.fillStyle = '#000000'
      ctx.font = '32px "DejaVu Sans"'
      ctx.textBaseline = 'middle'
      lines.forEach((line, i) => { ctx.fillText(line, 24, 48 + i * 64) })
      const rgba = Array.from(ctx.getImageData(0, 0, width, height).data)
      const blob = await canvas.convertToBlob({ type: 'image/png' })
      const png = Array.from(new Uint8Array(await blob.arrayBuffer()))
      return { rgba, png }
    }, { lines: OCR_LINES, width: WIDTH, height: HEIGHT })
    return { png: new Uint8Array(out.png), rgba: new Uint8Array(out.rgba) }
  } finally {
    await browser.close()
  }
}

async function main (): Promise<void> {
  const dir = join(ROOT, 'test', 'fixtures', 'ocr')
  await mkdir(dir, { recursive: true })
  const { png, rgba } = await render()
  await writeFile(join(dir, 'text.png'), png)
  await writeFile(join(dir, 'text.rgba'), rgba)
  const runner = await nodeRunner()
  const chars = ocrCharacters(new TextDecoder().decode(await runner.asset('ocr-rec-keys.txt')))
  const lines = await recognizeText({ width: WIDTH, height: HEIGHT, data: rgba }, runner.run, chars)
  await runner.close()
  const reference = {
    note: 'Made by scripts/make-ocr-fixtures.ts: OCR of text.png with onnxruntime-node (1 thread). Compared by text equality and box IoU.',
    width: WIDTH,
    height: HEIGHT,
    drawn: OCR_LINES,
    lines: lines.map(l => ({ text: l.text, score: Number(l.score.toFixed(4)), box: Object.fromEntries(Object.entries(l.box).map(([k, v]) => [k, Number(v.toFixed(2))])) }))
  }
  await writeFile(join(dir, 'reference.json'), JSON.stringify(reference, null, 2) + '\n')
  console.log(JSON.stringify(reference.lines, null, 1))
}

main().catch(err => { console.error(err); process.exit(1) })
