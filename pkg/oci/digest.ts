import { createHash } from 'node:crypto'
import { UserError } from '../errors/index.js'

/** A content digest, "algorithm:hex". Only sha256 and sha512 are accepted. */
export type Digest = `sha256:${string}` | `sha512:${string}`

const digestPattern = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

export function isDigest(raw: string): raw is Digest {
  return digestPattern.test(raw)
}

export function parseDigest(raw: string, where = 'digest'): Digest {
  if (!isDigest(raw)) throw new UserError(`${where}: malformed digest ${JSON.stringify(raw)}`)
  return raw
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1)
}

export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256'
}
