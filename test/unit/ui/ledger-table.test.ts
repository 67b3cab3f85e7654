/**
 * The ledger's table (src/ui/components/LedgerTable.svelte), rendered as the
 * server renders it: a long-lived tab's ledger draws its first 100 volunteers
 * (LEDGER_ROWS_SHOWN), and this browser's own row wherever it stands, and
 * offers the rest (the "show all" paragraph is ShowAll.svelte, shared with
 * the shard and peer tables), its totals, and what it could not keep.
 */
import { describe, expect, it } from 'vitest'
import { render } from 'svelte/server'
import LedgerTable from '../../../src/ui/components/LedgerTable.svelte'
import type { LedgerRow, LedgerSnapshot } from '../../../src/core/ledger.ts'
import { toHex } from '../../../src/core/bytes.ts'
import { peerIdOf } from '../../../src/net/peer-keys.ts'
import { identityFromSeed } from '../../../src/core/identity.ts'

/** LEDGER_ROWS_SHOWN (tsc sees a .svelte module's default export only). */
const LEDGER_ROWS_SHOWN = 100
/** A distinct key per number. */
const key = (n: number): Uint8Array => identityFromSeed(Uint8Array.from({ length: 32 }, (_, i) => i < 2 ? (n >> (8 * i)) & 0xff : 7)).publicKey
const keys = Array.from({ length: 300 }, (_, i) => key(i))
/** `n` rows, most credit first, as a snapshot sorts them. */
const rows = (n: number): LedgerRow[] => keys.slice(0, n).map((k, i) => ({ peer: toHex(k), credit: 1000 - i, verdicts: 1000 - i, rejected: 0, flaggedCredit: 0 }))
/** A snapshot of `rows` from 3 requesters, `dropped` inputs not kept. */
const snap = (list: LedgerRow[], dropped = 0): LedgerSnapshot => ({
  rows: list,
  requesters: [],
  forks: [],
  totals: { credit: list.reduce((n, r) => n + r.credit, 0), flaggedCredit: 0, verdicts: list.length, heads: 3, dropped }
})
const count = (html: string, testid: string): number => html.split(`data-testid="${testid}"`).length - 1

describe('LedgerTable', () => {
  it('draws every volunteer of a short ledger, ours marked once, and no "show all"', () => {
    const { body } = render(LedgerTable, { props: { snap: snap(rows(40)), me: peerIdOf(keys[7]!) } })
    expect(count(body, 'ledger-row')).toBe(40)
    expect(body.split(`data-peer="${peerIdOf(keys[7]!)}"`).length - 1).toBe(1)
    expect(body.match(/class="pill"/g)?.length).toBe(1)
    expect(count(body, 'ledger-all')).toBe(0)
    expect(count(body, 'ledger-dropped')).toBe(0)
  })

  it(`draws the first ${LEDGER_ROWS_SHOWN} of 300, then our own row further down, says so and offers the rest`, () => {
    const me = peerIdOf(keys[250]!)
    const { body } = render(LedgerTable, { props: { snap: snap(rows(300)), me } })
    expect(count(body, 'ledger-row')).toBe(LEDGER_ROWS_SHOWN + 1)
    expect(body).toContain(`data-peer="${peerIdOf(keys[0]!)}"`)
    expect(body).not.toContain(`data-peer="${peerIdOf(keys[LEDGER_ROWS_SHOWN]!)}"`)
    // Ours is the last row drawn, with its credit and the "you" mark.
    const last = body.slice(body.lastIndexOf('data-testid="ledger-row"'))
    expect(last).toContain(`data-peer="${me}" data-credit="750"`)
    expect(last).toMatch(/class="pill"/)
    expect(body).toMatch(/The first 100 of 300 volunteers/)
    expect(count(body, 'ledger-all')).toBe(1)
  })

  it('draws our row once when it is among the first ones, and none extra when we are not in the ledger', () => {
    expect(count(render(LedgerTable, { props: { snap: snap(rows(300)), me: peerIdOf(keys[3]!) } }).body, 'ledger-row')).toBe(LEDGER_ROWS_SHOWN)
    expect(count(render(LedgerTable, { props: { snap: snap(rows(300)), me: peerIdOf(key(5000)) } }).body, 'ledger-row')).toBe(LEDGER_ROWS_SHOWN)
    expect(count(render(LedgerTable, { props: { snap: snap(rows(300)), me: undefined } }).body, 'ledger-row')).toBe(LEDGER_ROWS_SHOWN)
  })

  it('says when the ledger is full and how much it did not keep', () => {
    const { body } = render(LedgerTable, { props: { snap: snap(rows(10), 1234), me: undefined } })
    expect(count(body, 'ledger-dropped')).toBe(1)
    expect(body).toMatch(/ledger is full: 1,234 receipts or tree heads/)
    expect(body).toMatch(/data-verdicts="10"/)
  })
})
