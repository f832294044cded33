// InRelease / Release files: the signed index of a suite, listing every index
// file with its size and SHA256.
import { IntegrityError } from '../errors/index.js'

export interface ReleaseEntry {
  sha256: string
  size: number
}

export interface ReleaseInfo {
  /** All single-line fields, keys lower-cased. */
  fields: Map<string, string>
  /** Path (relative to the dists/<suite>/ directory) → hash and size. */
  sha256: Map<string, ReleaseEntry>
  acquireByHash: boolean
  components: string[]
  architectures: string[]
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----'
const BEGIN_SIG = '-----BEGIN PGP SIGNATURE-----'

/**
 * Returns the signed body of a clearsigned (OpenPGP cleartext) document: the
 * text between the armour header block and the signature, dash-escaping
 * removed. The signature itself is NOT checked here: loadArchiveIndex reads
 * the text gpgv confirms instead (verify.ts), never this function's output.
 */
export function stripClearsign(text: string, what: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n')
  let i = 0
  while (i < lines.length && (lines[i] ?? '').trim() === '') i++
  if (lines[i] !== BEGIN_SIGNED) {
    throw new IntegrityError(`${what}: not a clearsigned document (no "${BEGIN_SIGNED}" line)`)
  }
  i++
  // Armour headers ("Hash: SHA256") up to the first empty line.
  while (i < lines.length && (lines[i] ?? '') !== '') i++
  if (i >= lines.length) throw new IntegrityError(`${what}: truncated clearsigned document (no body)`)
  i++
  const body: string[] = []
  for (; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line === BEGIN_SIG) break
    body.push(line.startsWith('- ') ? line.slice(2) : line)
  }
  if (i >= lines.length) throw new IntegrityError(`${what}: truncated clearsigned document (no signature block)`)
  return body.join('\n') + '\n'
}

/** Parses the body of a Release file. */
export function parseRelease(body: string, what: string): ReleaseInfo {
  const fields = new Map<string, string>()
  const sha256 = new Map<string, ReleaseEntry>()
  let key: string | undefined
  for (const raw of body.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (line.trim() === '') continue
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key !== 'sha256') continue
      const parts = line.trim().split(/\s+/)
      const [hash, sizeText, path] = parts
      if (parts.length !== 3 || hash === undefined || sizeText === undefined || path === undefined ||
        !/^[0-9a-fA-F]{64}$/.test(hash) || !/^\d+$/.test(sizeText)) {
        throw new IntegrityError(`${what}: malformed SHA256 line: ${line.trim()}`)
      }
      sha256.set(path, { sha256: hash.toLowerCase(), size: Number(sizeText) })
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) throw new IntegrityError(`${what}: malformed line: ${line}`)
    key = line.slice(0, colon).toLowerCase()
    fields.set(key, line.slice(colon + 1).trim())
  }
  const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter((s) => s !== '')
  return {
    fields,
    sha256,
    acquireByHash: /^yes$/i.test(fields.get('acquire-by-hash') ?? ''),
    components: words('components'),
    architectures: words('architectures'),
  }
}
