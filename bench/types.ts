/** Shared shapes for bench sections (see bench/sections/README.md). */
export interface Spread { median: number, min: number, max: number, runs: number }

/** A flat map of stable keys to numbers (results.json is one flat object). */
export type BenchFigures = Record<string, number>

export interface BenchContext {
  /** Repeat count for each measured figure (median over this many runs). */
  repeats: number
  /** Record the spread behind a figure; the runner writes it beside the table. */
  spread: (key: string, samples: number[]) => number
  /** Log a progress line (goes to stderr, not into results). */
  log: (line: string) => void
}
