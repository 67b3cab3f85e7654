/**
 * The model catalog (`models/catalog.json`): which models the swarm runs, where
 * their bytes come from, what they hash to, their I/O, how their outputs are
 * compared across replicas, and which pre/post-processing they use.
 *
 * Parsed strictly (unknown or missing fields are errors, src/core/validate.ts)
 * because the catalog decides what a volunteer is willing to execute: a typo
 * in a hash must stop the build (scripts/prepare-models.ts), not ship.
 */
import { int, list, num, oneOf, record, refine, str, variant, type Check } from '../core/validate.ts'
import type { CompareRule } from '../core/schemas.ts'
import type { DType } from '../core/tensors.ts'

/** Pre/post-processing pipelines in src/compute/models/. */
export type ProcessingId = 'digits' | 'ocr-det' | 'ocr-rec' | 'vad' | 'none'

/** One declared input or output. String dims are symbolic (any size). */
export interface TensorSpec {
  name: string
  dtype: DType
  shape: Array<number | string>
}

/** A file a model needs besides its weights (e.g. the OCR character dictionary). */
export interface CatalogAsset {
  file: string
  sha256: string
  bytes: number
  /** Path, relative to the repository root, that scripts/prepare-models.ts copies from. */
  from: string
}

export interface CatalogModel {
  id: string
  title: string
  /** File name under `public/models/` (served as `models/<file>`). */
  file: string
  /** Lowercase hex sha256 of the file. */
  sha256: string
  bytes: number
  licence: string
  /** Provenance: upstream project and the package it came through. */
  source: string
  /** Path, relative to the repository root, that scripts/prepare-models.ts copies from. */
  from: string
  inputs: TensorSpec[]
  outputs: TensorSpec[]
  processing: ProcessingId
  compare: CompareRule
  /** Every input and output has the batch on dim 0, so queued runs may be concatenated. */
  batchable: boolean
  assets: CatalogAsset[]
}

export interface Catalog {
  version: 1
  models: CatalogModel[]
}

const HEX64 = /^[0-9a-f]{64}$/
const ID = /^[a-z0-9][a-z0-9-]{0,31}$/
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
const TEXT = /^[^\u0000-\u001f]*$/
const MAX_MODEL_BYTES = 2 * 1024 ** 3

const sha256 = str({ min: 64, max: 64, pattern: HEX64, what: 'lowercase sha256 hex' })
const fileName = str({ min: 1, max: 100, pattern: FILE, what: 'a plain file name' })
const text = (max: number): Check<string> => str({ min: 1, max, pattern: TEXT, what: 'printable text' })
const relPath = str({ min: 1, max: 300, pattern: /^(?!\/)(?!.*\.\.)[A-Za-z0-9@._/-]+$/, what: 'a relative path without ..' })

const dim: Check<number | string> = (v, path) => typeof v === 'string'
  ? (v.length > 0 && v.length <= 32 ? undefined : `${path}: symbolic dim must be 1..32 characters`)
  : int(0, 2 ** 31)(v, path)

const tensorSpec = record<TensorSpec>({
  name: text(256),
  dtype: oneOf('float32', 'int32', 'int64', 'uint8', 'int8', 'bool', 'float64'),
  shape: list(dim, 8)
})

const compareRule = variant<CompareRule, 'kind'>('kind', {
  exact: record<{ kind: 'exact' }>({ kind: oneOf('exact') }),
  argmax: record<{ kind: 'argmax' }>({ kind: oneOf('argmax') }),
  allclose: record<{ kind: 'allclose', atol: number, rtol: number }>({ kind: oneOf('allclose'), atol: num(0, 1e6), rtol: num(0, 1e6) })
})

const asset = record<CatalogAsset>({ file: fileName, sha256, bytes: int(1, MAX_MODEL_BYTES), from: relPath })

const model = record<CatalogModel>({
  id: str({ min: 1, max: 32, pattern: ID, what: 'a lowercase id' }),
  title: text(120),
  file: fileName,
  sha256,
  bytes: int(1, MAX_MODEL_BYTES),
  licence: text(200),
  source: text(300),
  from: relPath,
  inputs: list(tensorSpec, 16),
  outputs: list(tensorSpec, 16),
  processing: oneOf('digits', 'ocr-det', 'ocr-rec', 'vad', 'none'),
  compare: compareRule,
  batchable: (v, path) => typeof v === 'boolean' ? undefined : `${path}: expected a boolean`,
  assets: list(asset, 8)
})

const catalog = refine(record<Catalog>({ version: (v, path) => v === 1 ? undefined : `${path}: unknown catalog version`, models: list(model, 64) }), (c, path) => {
  const ids = new Set<string>()
  const files = new Set<string>()
  for (const m of c.models) {
    if (ids.has(m.id)) return `${path}.models: duplicate id ${m.id}`
    ids.add(m.id)
    for (const f of [m.file, ...m.assets.map(a => a.file)]) {
      if (files.has(f)) return `${path}.models: duplicate file ${f}`
      files.add(f)
    }
  }
  return undefined
})

/** Result of {@link parseCatalog}. */
export type ParseCatalogResult = { ok: true, catalog: Catalog } | { ok: false, reason: string }

/** Validates parsed JSON as a catalog. Never throws. */
export function parseCatalog (json: unknown): ParseCatalogResult {
  const reason = catalog(json, 'catalog')
  return reason === undefined ? { ok: true, catalog: json as Catalog } : { ok: false, reason }
}

/** The model with `id`, or undefined. */
export function findModel (c: Catalog, id: string): CatalogModel | undefined {
  return c.models.find(m => m.id === id)
}
