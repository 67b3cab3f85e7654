/**
 * Draws the Essaim icon (a honeycomb cell surrounded by six others: one
 * browser among its swarm) as SVG, and renders the PNGs the web app
 * manifest lists with the system Chromium. The PNGs are committed; run this
 * again only when the drawing changes:  npx tsx scripts/make-icons.ts
 *
 * - icon.svg, icon-192.png, icon-512.png: "any" purpose, on a rounded tile.
 * - icon-maskable-512.png: full-bleed background, drawing inside the 80 %
 *   safe zone, so launchers may crop it to any shape.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from '@playwright/test'
import { CHROMIUM_ARGS, findChromium } from '../test/e2e/support/chromium.ts'

const OUT = fileURLToPath(new URL('../public/icons/', import.meta.url))
const BG = '#16181d'
const AMBER = '#f2a516'
const DEEP = '#b35c00'

/** A pointy-top hexagon of circumradius r centred at (cx, cy). */
function hex (cx: number, cy: number, r: number): string {
  const pts = [0, 1, 2, 3, 4, 5].map(i => {
    const a = Math.PI / 180 * (60 * i - 90)
    return `${(cx + r * Math.cos(a)).toFixed(2)},${(cy + r * Math.sin(a)).toFixed(2)}`
  })
  return pts.join(' ')
}

/** The motif on a 512 grid, scaled by `scale` around the centre. */
function motif (scale: number): string {
  const c = 256
  const r = 62 * scale
  const gap = 8 * scale
  const step = Math.sqrt(3) * r + gap
  const ring = [0, 1, 2, 3, 4, 5].map(i => {
    const a = Math.PI / 180 * (60 * i)
    const fill = i % 2 === 0 ? AMBER : DEEP
    return `<polygon points="${hex(c + step * Math.cos(a), c + step * Math.sin(a), r)}" fill="${fill}"/>`
  })
  const centre = `<polygon points="${hex(c, c, r)}" fill="${AMBER}" stroke="#fff4d6" stroke-width="${10 * scale}"/>`
  return ring.join('') + centre
}

function svg (kind: 'any' | 'maskable'): string {
  const bg = kind === 'any'
    ? `<rect x="16" y="16" width="480" height="480" rx="104" fill="${BG}"/>`
    : `<rect width="512" height="512" fill="${BG}"/>`
  const scale = kind === 'any' ? 0.92 : 0.72
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${bg}${motif(scale)}</svg>\n`
}

async function main (): Promise<void> {
  await mkdir(OUT, { recursive: true })
  await writeFile(join(OUT, 'icon.svg'), svg('any'))
  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS })
  try {
    const renders: Array<[string, 'any' | 'maskable', number]> = [
      ['icon-192.png', 'any', 192], ['icon-512.png', 'any', 512], ['icon-maskable-512.png', 'maskable', 512]
    ]
    for (const [name, kind, size] of renders) {
      const page = await browser.newPage({ viewport: { width: size, height: size } })
      await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg(kind)}`)
      await page.locator('svg').screenshot({ path: join(OUT, name), omitBackground: true })
      await page.close()
      console.log(`wrote public/icons/${name}`)
    }
  } finally {
    await browser.close()
  }
}

main().catch(err => { console.error(`make-icons: ${(err as Error).message}`); process.exit(1) })
