/**
 * The catalog shipped with this build (models/catalog.json, bundled by vite),
 * parsed strictly once. A build whose catalog does not parse fails loudly at
 * first use instead of running unknown models.
 */
import json from '../../models/catalog.json'
import { parseCatalog, type Catalog } from './catalog.ts'

const parsed = parseCatalog(json)

/** The bundled catalog. @throws {Error} if models/catalog.json is invalid (a build error). */
export function bundledCatalog (): Catalog {
  if (!parsed.ok) throw new Error(`models/catalog.json is invalid: ${parsed.reason}`)
  return parsed.catalog
}
