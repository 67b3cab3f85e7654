/**
 * The reference runtime: onnxruntime-node running catalog models from the
 * paths the catalog copies them from (node_modules, models/), so tests do not
 * depend on a build. Used by unit tests and the fixture scripts
 * (scripts/make-*-fixtures.ts) to compute the references the browser must match.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { parseCatalog, type Catalog } from '../../../../src/compute/catalog.ts'
import { fromOrtOutputs, toOrtFeeds, type TensorCtor } from '../../../../src/compute/ort-tensors.ts'
import type { RunModel } from '../../../../src/compute/models/runner.ts'

export const ROOT = new URL('../../../../', import.meta.url).pathname

export async function readCatalog (): Promise<Catalog> {
  const parsed = parseCatalog(JSON.parse(await readFile(join(ROOT, 'models', 'catalog.json'), 'utf8')))
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.catalog
}

/** A RunModel over onnxruntime-node, one session per catalog model, single-threaded for stable numbers. */
export async function nodeRunner (): Promise<{ run: RunModel, asset: (file: string) => Promise<Uint8Array>, close: () => Promise<void> }> {
  const catalog = await readCatalog()
  const sessions = new Map<string, Promise<ort.InferenceSession>>()
  const session = async (id: string): Promise<ort.InferenceSession> => {
    const model = catalog.models.find(m => m.id === id)
    if (model === undefined) throw new Error(`no catalog model ${id}`)
    let s = sessions.get(id)
    if (s === undefined) {
      s = ort.InferenceSession.create(join(ROOT, model.from), { intraOpNumThreads: 1, interOpNumThreads: 1 })
      sessions.set(id, s)
    }
    return await s
  }
  return {
    run: async (id, inputs) => {
      const s = await session(id)
      const out = await s.run(toOrtFeeds(ort.Tensor as unknown as TensorCtor, inputs))
      return fromOrtOutputs(out as Record<string, ort.Tensor>)
    },
    asset: async (file) => {
      const a = catalog.models.flatMap(m => m.assets).find(x => x.file === file)
      if (a === undefined) throw new Error(`no catalog asset ${file}`)
      return new Uint8Array(await readFile(join(ROOT, a.from)))
    },
    close: async () => { for (const s of sessions.values()) await (await s).release() }
  }
}
