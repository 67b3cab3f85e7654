import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { parseAst } from 'vite'
import { INITIATE_CONNECTION, patchInitiateConnection } from '../../../scripts/webrtc-init-fix.ts'

/** The installed @libp2p/webrtc's initiator, as the build reads it. */
function installed (): string {
  return readFileSync(new URL(`../../../node_modules/${INITIATE_CONNECTION}`, import.meta.url), 'utf8')
}

describe('the @libp2p/webrtc init-channel fix', () => {
  it('replaces the installed initiator\'s waits for open and close with settleInitChannel, and the module still parses', () => {
    const before = installed()
    expect(before).toContain("log.trace('wait for init channel to open')")
    const after = patchInitiateConnection(before, '/app/src/net/webrtc-init-channel.ts')
    expect(after).not.toContain('wait for init channel to open')
    expect(after).not.toContain("await pEvent(channel, 'close'")
    expect(after).toContain('await settleInitChannel(channel, signal);')
    expect(after.startsWith('import { settleInitChannel } from "/app/src/net/webrtc-init-channel.ts";\n')).toBe(true)
    // What follows the waits is kept: the signalling stream is still closed before returning.
    expect(after.indexOf('settleInitChannel(channel, signal)')).toBeLessThan(after.indexOf("log.trace('closing signaling channel')"))
    expect(() => parseAst(after)).not.toThrow()
  })

  it('fails the build, saying why, when the code it patches is not there', () => {
    expect(() => patchInitiateConnection('export const x = 1\n', '/h.ts')).toThrow(/did @libp2p\/webrtc change/)
  })
})
