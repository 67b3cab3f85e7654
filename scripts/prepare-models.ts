/**
 * Build step: copies every catalog model (and its assets, e.g. the OCR
 * dictionary) from where it is installed (npm packages, models/) into
 * `public/models/`, checking each file's size and sha256 against
 * `models/catalog.json` first. A mismatch (an upgraded package, a retrained
 * model, a corrupted install) stops the build: a volunteer must never be
 * served bytes the catalog does not name.
 *
 * Usage: tsx scripts/prepare-models.ts   (run by `npm run build`)
 *        [--root <dir>] [--catalog <file>] [--out <dir>]   (defaults: this repository)
 */
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCatalog, type Catalog } from '../src/compute/catalog.ts'

export interface PreparedFile { file: string, from: string, bytes: number, sha256: string }

/** A file whose size or hash differs from the catalog, or is missing. */
export class CatalogMismatchError extends Error {
  override readonly name = 'CatalogMismatchError'
}

/** The files a catalog names: every model and every asset. */
export function catalogFiles (catalog: Catalog): Array<{ file: string, from: string, sha256: string, bytes: number }> {
  return catalog.models.flatMap(m => [{ file: m.file, from: m.from, sha256: m.sha256, bytes: m.bytes }, ...m.assets])
}

/**
 * Checks every file of the catalog at `catalogPath` (paths relative to `root`)
 * and, when `outDir` is given, copies the verified files there.
 * @throws {CatalogMismatchError} listing every missing, resized or rehashed file.
 */
export async function prepareModels (options: { root: string, catalogPath: string, outDir?: string }): Promise<PreparedFile[]> {
  const parsed = parseCatalog(JSON.parse(await readFile(options.catalogPath, 'utf8')))
  if (!parsed.ok) throw new CatalogMismatchError(`${options.catalogPath} is not a valid catalog: ${parsed.reason}`)
  const problems: string[] = []
  const done: PreparedFile[] = []
  for (const f of catalogFiles(parsed.catalog)) {
    const src = join(options.root, f.from)
    const size = await stat(src).then(s => s.size, () => -1)
    if (size < 0) { problems.push(`${f.file}: ${f.from} is missing (npm ci, or train/commit the model)`); continue }
    const hash = createHash('sha256').update(await readFile(src)).digest('hex')
    if (hash !== f.sha256 || size !== f.bytes) {
      problems.push(`${f.file}: ${f.from} has sha256 ${hash} (${size} bytes) but the catalog expects ${f.sha256} (${f.bytes} bytes)`)
      continue
    }
    done.push({ file: f.file, from: f.from, bytes: size, sha256: hash })
  }
  if (problems.length > 0) throw new CatalogMismatchError(`model files do not match models/catalog.json:\n  ${problems.join('\n  ')}`)
  if (options.outDir !== undefined) {
    await mkdir(options.outDir, { recursive: true })
    for (const f of done) await copyFile(join(options.root, f.from), join(options.outDir, f.file))
  }
  return done
}

function arg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main (): Promise<void> {
  const root = arg('root') ?? fileURLToPath(new URL('..', import.meta.url))
  const catalogPath = arg('catalog') ?? join(root, 'models', 'catalog.json')
  const files = await prepareModels({ root, catalogPath, outDir: arg('out') ?? join(root, 'public', 'models') })
  for (const f of files) console.log(`prepare-models: ${f.file} ${f.sha256.slice(0, 12)}… ${f.bytes} bytes ← ${f.from}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(err => { console.error(`prepare-models: ${(err as Error).message}`); process.exit(1) })
}
