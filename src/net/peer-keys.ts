/**
 * An Essaim signer and a libp2p peer are the same Ed25519 key: these map one
 * to the other (verdicts name peers by public key, the network by peer id).
 */
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'

/** The raw Ed25519 public key of a peer id string, or undefined if it is not an Ed25519 peer id. */
export function publicKeyOf (peerId: string): Uint8Array | undefined {
  try {
    const id = peerIdFromString(peerId)
    return id.type === 'Ed25519' ? id.publicKey.raw : undefined
  } catch {
    return undefined
  }
}

/** The peer id string of a raw Ed25519 public key. @throws if the bytes are not a valid key. */
export function peerIdOf (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey) as Parameters<typeof peerIdFromPublicKey>[0]).toString()
}
