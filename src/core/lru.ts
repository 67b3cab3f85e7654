/**
 * A map that keeps at most `limit` entries: reading or writing an entry makes
 * it the most recently used, and adding one beyond the limit removes the
 * least recently used ones and returns them (the inference worker releases
 * their ONNX sessions: insertion order alone would evict the model a long job
 * is still running as soon as a few others were tried after it).
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>()

  constructor (private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`an LRU needs a limit of at least 1, not ${limit}`)
  }

  get size (): number { return this.entries.size }

  /** The values, least recently used first (reading them changes no order). */
  values (): MapIterator<V> { return this.entries.values() }

  /** The entries, least recently used first (reading them changes no order). */
  list (): MapIterator<[K, V]> { return this.entries.entries() }

  /** The entry for `key`, now the most recently used; undefined if absent. */
  get (key: K): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  /** Stores `value` as the most recently used; @returns the entries evicted to stay within the limit, oldest first. */
  set (key: K, value: V): Array<[K, V]> {
    this.entries.delete(key)
    this.entries.set(key, value)
    const evicted: Array<[K, V]> = []
    for (const entry of this.entries) {
      if (this.entries.size <= this.limit) break
      this.entries.delete(entry[0])
      evicted.push(entry)
    }
    return evicted
  }
}
