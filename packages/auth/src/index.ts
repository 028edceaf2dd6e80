export { CLUSTER_USER, ClusterTokens } from './cluster-token.ts'
export type { Secret } from './credentials-file.ts'
export { MAX_PASSWORD, MAX_USERNAME, parseCredentials } from './credentials-file.ts'
export { DEFAULT_WATCH_MS, FileValidator, readCredentials } from './file-validator.ts'
export type { PublishGroup } from './owner-tag.ts'
export { MAX_GROUP, OwnerTags } from './owner-tag.ts'
export type { ScryptHash } from './password-hash.ts'
export {
  DEFAULT_SCRYPT,
  hashPassword,
  matchesHash,
  matchesPlain,
  parseScryptHash,
  SCRYPT_PREFIX,
} from './password-hash.ts'
export type { RoundtripAnswer, RoundtripBody } from './roundtrip-validator.ts'
export { RoundtripValidator, roundtripBody } from './roundtrip-validator.ts'
export type { StreamAuthInit } from './stream-auth.ts'
export { MAX_TOKEN, StreamAuth } from './stream-auth.ts'
