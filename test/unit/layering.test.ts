/**
 * DESIGN.md "Layers (imports only point down)": src/core is pure (no DOM,
 * IndexedDB, libp2p or ORT); net, compute and store build on core only;
 * swarm wires them; ui sits on top. This test is the lint rule that keeps it so,
 * and keeps onnxruntime-web inside the compute worker (never the UI thread).
 */
import { describe, it, expect } from 'vitest'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/** Which layers each layer may import from (besides itself). */
const allowed: Record<string, string[]> = {
  core: [],
  net: ['core'],
  compute: ['core'],
  store: ['core'],
  swarm: ['core', 'net', 'compute', 'store'],
  ui: ['core', 'net', 'compute', 'store', 'swarm']
}

/** Packages src/core may use: pure computation only. */
const corePackages = [/^@noble\//, /^cborg(\/|$)/]

function files (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : /\.(ts|svelte)$/.test(name) ? [p] : []
  })
}

function imports (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    .map(m => m[1] ?? m[2] ?? '')
}

describe('layering', () => {
  for (const layer of Object.keys(allowed)) {
    it(`src/${layer} imports only from ${[layer, ...allowed[layer]!].join(', ')}`, () => {
      const bad: string[] = []
      let dir: string
      try { dir = join(src, layer); statSync(dir) } catch { return }
      for (const file of files(dir)) {
        for (const spec of imports(file)) {
          if (spec.startsWith('.')) {
            const target = relative(src, resolve(dirname(file), spec)).split('/')[0] ?? ''
            const ok = target === layer || allowed[layer]!.includes(target) || !(target in allowed)
            if (!ok) bad.push(`${relative(src, file)} → ${spec}`)
          } else if (layer === 'core' && !corePackages.some(re => re.test(spec))) {
            bad.push(`${relative(src, file)} → ${spec} (src/core must stay pure)`)
          }
        }
      }
      expect(bad).toEqual([])
    })
  }

  it('only the compute worker loads onnxruntime-web: inference never runs on the UI thread', () => {
    const loaders: string[] = []
    for (const file of files(src)) {
      const text = readFileSync(file, 'utf8')
      // Type-only imports are erased at build time; any other static or dynamic import loads the runtime.
      const runtime = /(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]onnxruntime-web(?:\/[^'"?]*)?['"]|import\(\s*['"]onnxruntime-web(?:\/[^'"?]*)?['"]\s*\)/
      if (runtime.test(text)) loaders.push(relative(src, file))
    }
    expect(loaders).toEqual(['compute/worker.ts'])
  })
})
