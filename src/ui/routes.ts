/**
 * The app's pages, in menu order. Hash routing (`#/volunteer`) keeps the app
 * a set of static files: any static server can serve it, no rewrite rules.
 * Each page is loaded lazily so the first paint does not wait for ORT.
 */
import type { Component } from 'svelte'

export interface Route {
  path: string
  label: string
  load: () => Promise<{ default: Component<any> }>
}

export const routes: Route[] = [
  { path: '/volunteer', label: 'Volunteer', load: async () => await import('./pages/Volunteer.svelte') },
  { path: '/submit', label: 'Submit job', load: async () => await import('./pages/Submit.svelte') },
  { path: '/job', label: 'Jobs', load: async () => await import('./pages/Job.svelte') },
  { path: '/ledger', label: 'Ledger', load: async () => await import('./pages/Ledger.svelte') },
  { path: '/models', label: 'Models', load: async () => await import('./pages/Models.svelte') },
  { path: '/verify', label: 'Verify', load: async () => await import('./pages/Verify.svelte') },
  { path: '/settings', label: 'Settings', load: async () => await import('./pages/Settings.svelte') }
]

export const defaultRoute = '/volunteer'

/** The route for a location hash such as `#/volunteer?x=1`; unknown → default. */
export function routeFor (hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] ?? ''
  return routes.find(r => r.path === path) ?? routes.find(r => r.path === defaultRoute)!
}

/**
 * Goes to `to` when an action begun on the page at `from` ends (a post, a
 * delete: they can take seconds), unless the user has gone to another page
 * meanwhile: they are not pulled back.
 */
export function goWhenDone (from: string, to: string, location: { hash: string } = window.location): void {
  if (location.hash === from) location.hash = to
}
