#!/usr/bin/env node
// Launcher for the offline receipt verifier (package bin `essaim-verify`).
// The verifier is TypeScript that imports src/core directly, so the CLI and
// the app run the very same code; tsx (a runtime dependency) registers its
// ESM loader here and the .ts entry point runs as is, with no build step.
import { register } from 'tsx/esm/api'

register()
await import(new URL('./essaim-verify.ts', import.meta.url).href)
