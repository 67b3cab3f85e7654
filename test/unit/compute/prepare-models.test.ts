import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { prepareModels } from '../../../scripts/prepare-models.ts'
import { parseCatalog } from '../../../src/compute/catalog.ts'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

function catalogFor (bytes: Uint8Array, hash = sha(bytes)): unknown {
  return {
    version: 1,
    models: [{
      id: 'tiny', title: 'Tiny', file: 'tiny.onnx', sha256: hash, bytes: bytes.length, licence: 'MIT', source: 'test',
      from: 'src/tiny.onnx', inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2] }],
      processing: 'none', compare: { kind: 'exact' }, batchable: true, assets: []
    }]
  }
}

describe('prepareModels', () => {
  let root: string
  const model = new Uint8Array([8, 1, 18, 4, 116, 101, 115, 116])
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'essaim-prep-'))
    await mkdir(join(root, 'src'))
    await writeFile(join(root, 'src', 'tiny.onnx'), model)
  })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('copies files whose hash matches', async () => {
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model)))
    const done = await prepareModels({ root, catalogPath: join(root, 'catalog.json'), outDir: join(root, 'out') })
    expect(done).toHaveLength(1)
    expect(new Uint8Array(await readFile(join(root, 'out', 'tiny.onnx')))).toEqual(model)
  })

  it('refuses a file whose sha256 differs, naming both hashes, and copies nothing', async () => {
    const wrong = 'ab'.repeat(32)
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model, wrong)))
    const err = await prepareModels({ root, catalogPath: join(root, 'catalog.json'), outDir: join(root, 'out') }).catch(e => e as Error)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).name).toBe('CatalogMismatchError')
    expect((err as Error).message).toContain(sha(model))
    expect((err as Error).message).toContain(wrong)
    await expect(readFile(join(root, 'out', 'tiny.onnx'))).rejects.toThrow()
  })

  it('refuses a one-byte corruption of the source file', async () => {
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model)))
    const corrupt = model.slice(); corrupt[3] = corrupt[3]! ^ 1
    await writeFile(join(root, 'src', 'tiny.onnx'), corrupt)
    await expect(prepareModels({ root, catalogPath: join(root, 'catalog.json') })).rejects.toThrow(/tiny.onnx.*catalog expects/)
  })

  it('reports a missing file', async () => {
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model)))
    await rm(join(root, 'src', 'tiny.onnx'))
    await expect(prepareModels({ root, catalogPath: join(root, 'catalog.json') })).rejects.toThrow(/missing/)
  })

  it('the CLI exits 1 with a clear message on a mismatch, 0 when it matches', async () => {
    const cli = async (): Promise<{ code: number, stderr: string }> => await promisify(execFile)('npx', ['tsx', 'scripts/prepare-models.ts', '--root', root, '--catalog', join(root, 'catalog.json'), '--out', join(root, 'out')])
      .then(() => ({ code: 0, stderr: '' }), (e: { code: number, stderr: string }) => ({ code: e.code, stderr: e.stderr }))
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model, 'cd'.repeat(32))))
    const bad = await cli()
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/tiny\.onnx: src\/tiny\.onnx has sha256 [0-9a-f]{64} .* but the catalog expects cdcd/)
    await writeFile(join(root, 'catalog.json'), JSON.stringify(catalogFor(model)))
    expect((await cli()).code).toBe(0)
  })
})

describe('the repository catalog', () => {
  it('parses strictly and every file in it verifies', async () => {
    const json = JSON.parse(await readFile('models/catalog.json', 'utf8')) as unknown
    const parsed = parseCatalog(json)
    expect(parsed.ok ? 'ok' : parsed.reason).toBe('ok')
    await expect(prepareModels({ root: process.cwd(), catalogPath: 'models/catalog.json' })).resolves.not.toHaveLength(0)
  })

  it('rejects unknown fields, bad hashes and duplicate ids', () => {
    const base = catalogFor(new Uint8Array([1])) as { models: Array<Record<string, unknown>> }
    expect(parseCatalog({ ...base, extra: 1 }).ok).toBe(false)
    expect(parseCatalog({ ...base, models: [{ ...base.models[0], sha256: 'XYZ' }] }).ok).toBe(false)
    expect(parseCatalog({ ...base, models: [{ ...base.models[0], from: '../etc/passwd' }] }).ok).toBe(false)
    expect(parseCatalog({ ...base, models: [base.models[0], base.models[0]] })).toEqual({ ok: false, reason: 'catalog.models: duplicate id tiny' })
  })
})
