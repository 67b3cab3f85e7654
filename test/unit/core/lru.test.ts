import { describe, expect, it } from 'vitest'
import { Lru } from '../../../src/core/lru.ts'

describe('Lru', () => {
  it('evicts the least recently used entry, not the first stored, and returns it', () => {
    const lru = new Lru<string, number>(2)
    expect(lru.set('a', 1)).toEqual([])
    expect(lru.set('b', 2)).toEqual([])
    expect(lru.get('a')).toBe(1) // a long job keeps using 'a'
    expect(lru.set('c', 3)).toEqual([['b', 2]])
    expect(lru.get('a')).toBe(1)
    expect(lru.get('b')).toBeUndefined()
    expect(lru.get('c')).toBe(3)
    expect(lru.size).toBe(2)
  })

  it('replacing an entry makes it the most recent and evicts nothing', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.set('a', 10)).toEqual([])
    expect(lru.set('c', 3)).toEqual([['b', 2]])
    expect(lru.get('a')).toBe(10)
  })

  it('lists values least recently used first, without reordering them', () => {
    const lru = new Lru<string, number>(3)
    lru.set('a', 1)
    lru.set('b', 2)
    lru.set('c', 3)
    lru.get('a')
    expect([...lru.values()]).toEqual([2, 3, 1])
    expect([...lru.values()]).toEqual([2, 3, 1])
    expect([...lru.list()]).toEqual([['b', 2], ['c', 3], ['a', 1]])
    expect([...lru.values()]).toEqual([2, 3, 1])
  })

  it('a miss changes nothing', () => {
    const lru = new Lru<string, number>(1)
    lru.set('a', 1)
    expect(lru.get('x')).toBeUndefined()
    expect(lru.set('b', 2)).toEqual([['a', 1]])
  })

  it('refuses a limit below one', () => {
    expect(() => new Lru(0)).toThrow(RangeError)
    expect(() => new Lru(1.5)).toThrow(RangeError)
  })
})
