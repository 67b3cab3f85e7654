/**
 * The Models page's list of stored models (src/swarm/stored-models.ts):
 * catalog models and assets named and always deletable, a model outside the
 * catalog kept while one of this browser's jobs runs it and freed when the
 * last such job is deleted, names from the volunteer's fetched models.
 */
import { describe, it, expect } from 'vitest'
import { bundledCatalog } from '../../../src/compute/bundled-catalog.ts'
import { deletable, modelFreedBy, storedModels } from '../../../src/swarm/stored-models.ts'

const catalog = bundledCatalog()
const digits = catalog.models.find(m => m.id === 'digits')!
const rec = catalog.models.find(m => m.processing === 'ocr-rec')!
const own = 'a'.repeat(64)
const fetched = 'b'.repeat(64)
const unknown = 'c'.repeat(64)

describe('stored models', () => {
  it('names each entry, largest first, and says which may be deleted', () => {
    const rows = storedModels(
      [{ sha256: unknown, bytes: 10 }, { sha256: digits.sha256, bytes: 500 }, { sha256: rec.assets[0]!.sha256, bytes: 20 }, { sha256: own, bytes: 300 }, { sha256: fetched, bytes: 300 }],
      catalog,
      {
        jobs: [
          { title: 'my job', modelId: 'mine', modelSha256: own },
          { title: 'digits job', modelId: 'digits', modelSha256: digits.sha256 }
        ],
        fetched: new Map([[fetched, { id: 'theirs' }]])
      })
    expect(rows.map(r => [r.name, r.bytes, r.catalog, r.jobs, deletable(r)])).toEqual([
      ['digits', 500, true, ['digits job'], true],
      ['mine', 300, false, ['my job'], false],
      ['theirs', 300, false, [], true],
      [`${rec.id}/${rec.assets[0]!.file}`, 20, true, [], true],
      [undefined, 10, false, [], true]
    ])
  })

  it('a deleted job frees its own model once no stored job runs it, never a catalog model', () => {
    expect(modelFreedBy(own, catalog, [{ modelSha256: own }])).toBeUndefined()
    expect(modelFreedBy(own, catalog, [{ modelSha256: digits.sha256 }])).toBe(own)
    expect(modelFreedBy(digits.sha256, catalog, [])).toBeUndefined()
    expect(modelFreedBy(rec.assets[0]!.sha256, catalog, [])).toBeUndefined()
  })
})
