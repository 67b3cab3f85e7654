/** The app version announced in heartbeats and attestations (from package.json at build time). */
import pkg from '../../package.json' with { type: 'json' }

export const APP_VERSION: string = `essaim/${pkg.version}`
