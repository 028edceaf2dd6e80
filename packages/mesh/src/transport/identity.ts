import { generateKeyPairSync } from 'node:crypto'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

/** A node's mesh identity: its libp2p key and the peer id that is its node id. */
export interface MeshIdentity {
  privateKey: PrivateKey
  id: string
}

/**
 * A fresh Ed25519 identity, made synchronously (node:crypto) so the daemon
 * knows its id before anything starts. Each run is a new member: a node
 * that restarts joins as a new incarnation, as in JGroups.
 */
export function newIdentity(): MeshIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url')
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  const key = privateKeyFromRaw(new Uint8Array(Buffer.concat([d, x])))
  return { privateKey: key, id: peerIdFromPrivateKey(key).toString() }
}
