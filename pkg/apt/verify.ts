// Checking a suite's InRelease: its OpenPGP signature (with gpgv, against the
// archive keyring or the source's Signed-By), and its Date / Valid-Until.
//
// Only the text gpgv reports as signed is parsed: gpgv writes it with
// --output, so nothing outside the signed message (text before the armour,
// a second message appended) can reach the Release parser. The frame is also
// checked first, as apt does, so such documents are refused outright.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IntegrityError, ToolError, UserError } from '../errors/index.js'
import { requireTools, type ToolRunner } from '../exec/index.js'
import type { AptSource } from './sources.js'

/** Where a source's signatures are checked against. */
export interface KeyringSpec {
  /** Keyring files (binary or ASCII-armoured), absolute paths. */
  files: string[]
  /** Armoured key blocks given inline (deb822 Signed-By). */
  inline: string[]
  /** When non-empty, only signatures by these fingerprints (upper-case hex) count. */
  fingerprints: string[]
  /** Says where the keys came from, for messages. */
  describe: string
}

/** The keyrings apt trusts for a source without Signed-By, under `rootDir`. */
export function defaultKeyringFiles(rootDir = '/'): string[] {
  const out: string[] = []
  const legacy = join(rootDir, 'etc/apt/trusted.gpg')
  if (isFile(legacy)) out.push(legacy)
  const dir = join(rootDir, 'etc/apt/trusted.gpg.d')
  try {
    for (const name of readdirSync(dir).sort()) {
      if (/^[A-Za-z0-9_.-]+\.(gpg|asc)$/.test(name) && isFile(join(dir, name))) out.push(join(dir, name))
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  // Debian's archive keyring itself, so that a --mirror of Debian verifies
  // even where apt's trusted.gpg.d is empty.
  const archive = join(rootDir, 'usr/share/keyrings/debian-archive-keyring.gpg')
  if (isFile(archive) && !out.includes(archive)) out.push(archive)
  return out
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

const armourBegin = '-----BEGIN PGP PUBLIC KEY BLOCK-----'

/**
 * The keyrings for `source`: its Signed-By (paths, fingerprints or an inline
 * key block, as in sources.list(5)), or else apt's trusted keyrings and
 * Debian's archive keyring.
 */
export function sourceKeyrings(source: AptSource, rootDir = '/'): KeyringSpec {
  const signedBy = source.signedBy?.trim() ?? ''
  if (signedBy.includes(armourBegin)) {
    return { files: [], inline: [signedBy], fingerprints: [], describe: `the key block in Signed-By (${source.origin})` }
  }
  const files: string[] = []
  const fingerprints: string[] = []
  for (const item of signedBy.split(/[\s,]+/).filter((s) => s !== '')) {
    if (item.startsWith('/')) {
      if (!isFile(item)) {
        throw new UserError(`${source.origin}: Signed-By keyring ${item} does not exist`, {
          hint: item.includes('debian-archive-keyring') ? 'install it: apt-get install -y debian-archive-keyring' : undefined,
        })
      }
      files.push(item)
    } else if (/^[0-9A-Fa-f]{40}!?$/.test(item)) {
      fingerprints.push(item.replace(/!$/, '').toUpperCase())
    } else {
      throw new UserError(`${source.origin}: Signed-By "${item}" is neither an absolute keyring path nor a key fingerprint`)
    }
  }
  if (files.length > 0) return { files, inline: [], fingerprints, describe: files.join(', ') }
  const defaults = defaultKeyringFiles(rootDir)
  if (defaults.length === 0) {
    throw new UserError(`no archive keyring to check ${source.uri} ${source.suite} against`, {
      hint: 'install Debian\'s: apt-get install -y debian-archive-keyring (or give the source a Signed-By keyring)',
    })
  }
  return { files: defaults, inline: [], fingerprints, describe: defaults.join(', ') }
}

/**
 * Decodes ASCII-armoured OpenPGP blocks (one or several) into binary packets,
 * checking each block's CRC24 when present. gpgv 2.2 reads binary keyrings only.
 */
export function dearmor(text: string, what: string): Buffer {
  const lines = text.replace(/\r/g, '').split('\n').map((l) => l.trim())
  const parts: Buffer[] = []
  let i = 0
  while (i < lines.length) {
    if (!/^-----BEGIN PGP [A-Z ]+-----$/.test(lines[i] ?? '')) { i++; continue }
    i++
    // Armour headers, up to an empty line (some writers omit both).
    let j = i
    while (j < lines.length && /^[A-Za-z-]+: /.test(lines[j] ?? '')) j++
    i = j < lines.length && lines[j] === '' ? j + 1 : i
    let b64 = ''
    let crc: string | undefined
    for (; i < lines.length; i++) {
      const line = lines[i] ?? ''
      if (line.startsWith('-----END PGP ')) break
      if (line.startsWith('=') && line.length === 5) { crc = line.slice(1); continue }
      if (line === '') continue
      if (!/^[A-Za-z0-9+/=]+$/.test(line)) throw new UserError(`${what}: malformed armoured key (bad line "${line.slice(0, 40)}")`)
      b64 += line
    }
    if (i >= lines.length) throw new UserError(`${what}: armoured key block has no END line`)
    i++
    const data = Buffer.from(b64, 'base64')
    if (crc !== undefined && crc24(data) !== Buffer.from(crc, 'base64').readUIntBE(0, 3)) {
      throw new UserError(`${what}: armoured key block fails its checksum`)
    }
    parts.push(data)
  }
  if (parts.length === 0) throw new UserError(`${what}: no armoured OpenPGP block found`)
  return Buffer.concat(parts)
}

/** The CRC-24 of RFC 4880 section 6.1. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce
  for (const byte of data) {
    crc ^= byte << 16
    for (let k = 0; k < 8; k++) {
      crc <<= 1
      if (crc & 0x1000000) crc ^= 0x1864cfb
    }
  }
  return crc & 0xffffff
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----'
const BEGIN_SIG = '-----BEGIN PGP SIGNATURE-----'
const END_SIG = '-----END PGP SIGNATURE-----'

/**
 * Refuses anything but exactly one clearsigned message, with only blank
 * lines around it (apt's rule since CVE-2013-1051 style injections: text
 * outside the signature must never be read as part of the Release file).
 */
export function checkClearsignFrame(text: string, what: string): void {
  if (text.includes('\0')) throw new IntegrityError(`${what}: not a clearsigned document (binary data)`)
  const lines = text.replace(/\r\n/g, '\n').split('\n')
  let i = 0
  while (i < lines.length && (lines[i] ?? '').trim() === '') i++
  if (lines[i] !== BEGIN_SIGNED) {
    throw new IntegrityError(`${what}: not a clearsigned document (it does not start with "${BEGIN_SIGNED}")`)
  }
  const count = (marker: string): number => lines.filter((l) => l === marker).length
  if (count(BEGIN_SIGNED) !== 1 || count(BEGIN_SIG) !== 1 || count(END_SIG) !== 1) {
    throw new IntegrityError(`${what}: not exactly one clearsigned message`)
  }
  const end = lines.indexOf(END_SIG)
  if (end < lines.indexOf(BEGIN_SIG) || lines.slice(end + 1).some((l) => l.trim() !== '')) {
    throw new IntegrityError(`${what}: text after the signature block`)
  }
}

export interface SignatureVerdict {
  ok: boolean
  /** Fingerprints of the keys whose signatures were good and counted. */
  signers: string[]
  /** Why the document is refused (when !ok). */
  reason: string
}

/** Hash algorithms (RFC 4880 9.4) too weak to trust: MD5, SHA-1, RIPEMD-160. */
const weakHashes = new Set(['1', '2', '3'])

/**
 * Decides from gpgv's --status-fd output whether a document is signed well
 * enough: at least one GOODSIG with its VALIDSIG, made with a strong hash (and,
 * with `fingerprints`, by one of them), and no BADSIG at all. Signatures by
 * keys not in the keyring are ignored when another one is good, as apt does
 * (Debian signs each InRelease with several keys).
 */
export function evaluateGpgvStatus(status: string, fingerprints: readonly string[] = []): SignatureVerdict {
  const bad: string[] = []
  const missing: string[] = []
  const weak: string[] = []
  const other: string[] = []
  const expired: string[] = []
  const unlisted: string[] = []
  const signers: string[] = []
  let good = false
  let sawSignature = false
  for (const line of status.split('\n')) {
    if (!line.startsWith('[GNUPG:] ')) continue
    const [kw, ...args] = line.slice(9).trim().split(' ')
    switch (kw) {
      case 'NEWSIG':
        sawSignature = true
        good = false
        break
      case 'GOODSIG':
        good = true
        break
      case 'BADSIG':
        bad.push(args.slice(0, 1).join('') + (args.length > 1 ? ` (${args.slice(1).join(' ')})` : ''))
        break
      case 'EXPKEYSIG':
      case 'REVKEYSIG':
      case 'EXPSIG':
        expired.push(`${args[0] ?? '?'} (${kw === 'REVKEYSIG' ? 'key revoked' : kw === 'EXPKEYSIG' ? 'key expired' : 'signature expired'})`)
        break
      case 'NO_PUBKEY':
        missing.push(args[0] ?? '?')
        break
      case 'ERRSIG':
        // rc 9 is "no public key", reported again by NO_PUBKEY.
        if (args[5] !== '9') other.push(`${args[0] ?? '?'} (error ${args[5] ?? '?'}, algorithm ${args[1] ?? '?'}/${args[2] ?? '?'})`)
        break
      case 'VALIDSIG': {
        const fpr = (args[0] ?? '').toUpperCase()
        const primary = (args[9] ?? fpr).toUpperCase()
        const hash = args[7] ?? ''
        if (!good) break
        if (weakHashes.has(hash)) { weak.push(fpr); break }
        if (fingerprints.length > 0 && !fingerprints.includes(fpr) && !fingerprints.includes(primary)) { unlisted.push(fpr); break }
        signers.push(fpr)
        break
      }
      case 'NODATA':
        other.push('no signature data')
        break
      default:
        break
    }
  }
  if (bad.length > 0) return { ok: false, signers: [], reason: `BAD signature from ${bad.join(', ')}: the content was altered after signing` }
  if (signers.length > 0) return { ok: true, signers, reason: '' }
  const why: string[] = []
  if (!sawSignature && other.length === 0) why.push('no signature found')
  if (missing.length > 0) why.push(`signed only by key(s) not in the keyring: ${missing.join(', ')}`)
  if (expired.length > 0) why.push(`signature(s) not valid: ${expired.join(', ')}`)
  if (weak.length > 0) why.push(`signature(s) with a weak hash (MD5/SHA-1): ${weak.join(', ')}`)
  if (unlisted.length > 0) why.push(`signed by ${unlisted.join(', ')}, not by the fingerprint(s) Signed-By names`)
  why.push(...other)
  if (why.length === 0) why.push('no valid signature')
  return { ok: false, signers: [], reason: why.join('; ') }
}

export interface VerifyOptions {
  runner: ToolRunner
  /** A folder for scratch files (created if missing). */
  tmpDir: string
}

/**
 * Verifies a clearsigned document with gpgv against `keys` and returns the
 * signed text exactly as gpgv confirms it. Throws IntegrityError naming
 * `what` and the reason when the signature does not hold.
 */
export async function verifyClearsigned(
  raw: Buffer, what: string, keys: KeyringSpec, opts: VerifyOptions,
): Promise<{ body: string; signers: string[] }> {
  checkClearsignFrame(raw.toString('utf8'), what)
  requireTools([{ command: 'gpgv', debianPackage: 'gpgv' }])
  await mkdir(opts.tmpDir, { recursive: true })
  const work = await mkdtemp(join(opts.tmpDir, 'gpgv-'))
  try {
    const keyrings: string[] = []
    const all = [...keys.files.map((f) => ({ name: f, text: readFileSync(f) })), ...keys.inline.map((k, i) => ({ name: `inline key ${i + 1}`, text: Buffer.from(k) }))]
    for (const [i, k] of all.entries()) {
      if (k.text.subarray(0, 200).toString('latin1').includes('-----BEGIN PGP')) {
        // gpgv 2.2 cannot read armoured keyrings (apt's .asc files): convert them.
        const out = join(work, `keyring-${i}.gpg`)
        await writeFile(out, dearmor(k.text.toString('latin1'), k.name))
        keyrings.push(out)
      } else {
        keyrings.push(k.name)
      }
    }
    const input = join(work, 'InRelease')
    const body = join(work, 'signed.txt')
    const status = join(work, 'status.txt')
    await writeFile(input, raw)
    const args = ['--status-fd', '1', '--output', body, ...keyrings.flatMap((k) => ['--keyring', k]), '--', input]
    let runError: ToolError | undefined
    try {
      // An empty GNUPGHOME: nothing from the user's own gpg set-up counts.
      await opts.runner.run('gpgv', args, { stdoutFile: status, env: { GNUPGHOME: work, LC_ALL: 'C' } })
    } catch (err) {
      // gpgv exits 1 or 2 when any one signature cannot be checked (a key
      // missing from the keyring); the status lines decide.
      if (!(err instanceof ToolError) || err.exitCode === undefined) throw err
      runError = err
    }
    const statusText = existsSync(status) ? await readFile(status, 'utf8') : ''
    const verdict = evaluateGpgvStatus(statusText, keys.fingerprints)
    if (!verdict.ok) {
      throw new IntegrityError(`${what}: signature check failed: ${verdict.reason} (checked against ${keys.describe})`,
        runError === undefined ? {} : { cause: runError })
    }
    if (!existsSync(body)) throw new IntegrityError(`${what}: gpgv reported a good signature but wrote no signed text`)
    return { body: await readFile(body, 'utf8'), signers: verdict.signers }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** How far ahead of this machine's clock a Release Date may be before it is refused. */
export const maxFutureSkewMs = 60 * 60 * 1000
/** How far ahead it may be before a warning. */
export const warnFutureSkewMs = 5 * 60 * 1000

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

/** Parses a Release file date ("Sat, 11 Jul 2026 10:16:37 UTC", RFC 2822 style); undefined when malformed. */
export function parseReleaseDate(text: string): Date | undefined {
  const m = /^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})\s*(UTC|GMT|Z|[+-]\d{4})?$/.exec(text.trim())
  if (!m) return undefined
  const month = months.indexOf((m[2] ?? '').toLowerCase())
  if (month < 0) return undefined
  let ms = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  const zone = m[7] ?? 'UTC'
  if (/^[+-]\d{4}$/.test(zone)) {
    const sign = zone.startsWith('-') ? -1 : 1
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000
  }
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/**
 * Checks a Release file's Date and Valid-Until against `now`: an expired file
 * (a stale mirror, or an old one replayed) is refused with its date; a Date
 * more than an hour ahead is refused (a clock that far behind makes
 * Valid-Until meaningless), a few minutes ahead is only warned about.
 * Returns a warning, or undefined.
 */
export function checkReleaseDates(fields: ReadonlyMap<string, string>, what: string, now: Date): string | undefined {
  const dateText = fields.get('date')
  const untilText = fields.get('valid-until')
  const date = dateText === undefined ? undefined : parseReleaseDate(dateText)
  if (dateText !== undefined && date === undefined) throw new IntegrityError(`${what}: malformed Date "${dateText}"`)
  const until = untilText === undefined ? undefined : parseReleaseDate(untilText)
  if (untilText !== undefined && until === undefined) throw new IntegrityError(`${what}: malformed Valid-Until "${untilText}"`)
  if (until !== undefined && until.getTime() < now.getTime()) {
    throw new IntegrityError(
      `${what}: expired: Valid-Until ${untilText} is before now (${now.toUTCString()}); ` +
      'the mirror is out of date or serving an old InRelease (or this machine\'s clock is wrong)')
  }
  if (date !== undefined) {
    const ahead = date.getTime() - now.getTime()
    if (ahead > maxFutureSkewMs) {
      throw new IntegrityError(
        `${what}: not valid yet: Date ${dateText} is ${(ahead / 3_600_000).toFixed(1)} hours ahead of this machine's clock ` +
        `(${now.toUTCString()}); check the clock`)
    }
    if (ahead > warnFutureSkewMs) {
      return `${what}: Date ${dateText} is ${Math.round(ahead / 60_000)} minutes ahead of this machine's clock`
    }
  }
  return undefined
}
