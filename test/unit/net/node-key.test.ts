/**
 * The libp2p key of an identity (src/net/node.ts libp2pKey): the same
 * Ed25519 key, signing through identity.ts's native signer with the very
 * signatures noble gives, which libp2p's own key verifies.
 */
import { describe, it, expect } from 'vitest'
import { libp2pKey } from '../../../src/net/node.ts'
import { identityFromSeed, sign } from '../../../src/core/identity.ts'

describe('libp2pKey', () => {
  it('signs as the identity does, and libp2p verifies it', async () => {
    const identity = identityFromSeed(new Uint8Array(32).fill(7))
    const key = libp2pKey(identity)
    expect(key.publicKey.raw).toEqual(identity.publicKey)
    const msg = new TextEncoder().encode('essaim gossip message')
    const sig = await key.sign(msg)
    expect(sig).toEqual(sign(identity, msg))
    expect(await key.publicKey.verify(msg, sig)).toBe(true)
    const bad = Uint8Array.from(sig)
    bad[0]! ^= 1
    expect(await key.publicKey.verify(msg, bad)).toBe(false)
  })
})
