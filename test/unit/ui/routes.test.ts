/** Hash routes (src/ui/routes.ts). */
import { describe, expect, it } from 'vitest'
import { goWhenDone, routeFor } from '../../../src/ui/routes.ts'

describe('routes', () => {
  it('routeFor reads the path before any query, and sends unknown paths to the default page', () => {
    expect(routeFor('#/job?id=abc').path).toBe('/job')
    expect(routeFor('#/models').path).toBe('/models')
    expect(routeFor('').path).toBe('/volunteer')
    expect(routeFor('#/nowhere').path).toBe('/volunteer')
  })

  it('goWhenDone moves on from the page the action began on, and leaves a user who went elsewhere where they are', () => {
    const stayed = { hash: '#/job?id=abc' }
    goWhenDone('#/job?id=abc', '#/job', stayed)
    expect(stayed.hash).toBe('#/job')
    const left = { hash: '#/models' }
    goWhenDone('#/job?id=abc', '#/job', left)
    expect(left.hash).toBe('#/models')
  })
})
