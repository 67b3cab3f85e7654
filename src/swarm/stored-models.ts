/**
 * The models this browser keeps in its cache, named and tied to the jobs
 * that need them, for the Models page to show and free: a catalog model (or
 * one of its assets) can always be deleted, since it is fetched again when
 * needed; a model outside the catalog that one of this browser's own jobs
 * runs is kept while that job is stored, because its volunteers fetch it
 * from here and nobody else may have it. Deleting that job frees it
 * (`modelFreedBy`).
 */
import type { Catalog } from '../compute/catalog.ts'

export interface StoredModel {
  sha256: string
  bytes: number
  /** The catalog model or asset it is, or the id a job gave it; undefined when nothing here names it. */
  name: string | undefined
  catalog: boolean
  /** Titles of this browser's jobs that run it; while there is one, a model outside the catalog is kept. */
  jobs: string[]
}

/** What a stored model is known as, besides the catalog: own jobs and models fetched to volunteer. */
export interface ModelNames {
  jobs: ReadonlyArray<{ title: string, modelId: string, modelSha256: string }>
  fetched: ReadonlyMap<string, { id: string }>
}

/** The catalog's models and assets by sha256, with their names. */
function catalogNames (catalog: Catalog): Map<string, string> {
  const names = new Map<string, string>()
  for (const m of catalog.models) {
    names.set(m.sha256, m.id)
    for (const a of m.assets) names.set(a.sha256, `${m.id}/${a.file}`)
  }
  return names
}

/** The cache's entries, named, largest first. */
export function storedModels (entries: ReadonlyArray<{ sha256: string, bytes: number }>, catalog: Catalog, known: ModelNames): StoredModel[] {
  const inCatalog = catalogNames(catalog)
  return entries.map(e => {
    const jobs = known.jobs.filter(j => j.modelSha256 === e.sha256)
    return {
      sha256: e.sha256,
      bytes: e.bytes,
      name: inCatalog.get(e.sha256) ?? jobs[0]?.modelId ?? known.fetched.get(e.sha256)?.id,
      catalog: inCatalog.has(e.sha256),
      jobs: jobs.map(j => j.title)
    }
  }).sort((a, b) => b.bytes - a.bytes || a.sha256.localeCompare(b.sha256))
}

/** May the user delete this stored model? */
export function deletable (model: StoredModel): boolean {
  return model.catalog || model.jobs.length === 0
}

/**
 * The model a deleted job leaves unneeded: its own (outside the catalog)
 * once no job still stored runs it; undefined otherwise.
 */
export function modelFreedBy (modelSha256: string, catalog: Catalog, remaining: ReadonlyArray<{ modelSha256: string }>): string | undefined {
  if (catalogNames(catalog).has(modelSha256) || remaining.some(j => j.modelSha256 === modelSha256)) return undefined
  return modelSha256
}
