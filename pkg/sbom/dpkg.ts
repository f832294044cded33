// Reading dpkg's database of installed packages: var/lib/dpkg/status, and the
// one-file-per-package var/lib/dpkg/status.d/ that distroless images carry
// instead. Both are deb822 control files: paragraphs of "Field: value" lines
// separated by blank lines, with continuation lines starting with a space or tab.
import { UserError } from '../errors/index.js'
import { MAX_DATABASE_BYTES, MAX_PACKAGES, type SbomPackage } from './types.js'

export interface DpkgStatusOptions {
  /**
   * Keep only installed packages (default true): when a stanza has a Status
   * field, its last word must be "installed" (or "triggers-awaited" /
   * "triggers-pending", installed packages whose triggers have not run yet).
   * Stanzas without Status (status.d files) are always kept.
   */
  installedOnly?: boolean
  /** Names the file in errors; "var/lib/dpkg/status" by default. */
  file?: string
}

const installedStates = new Set(['installed', 'triggers-awaited', 'triggers-pending'])

/** Fields read; keys are the lowercased field names (field names are case-insensitive). */
const wanted = new Set(['package', 'version', 'architecture', 'source', 'status'])

/** Parses a dpkg status file (or one status.d file) into packages, in file order. */
export function parseDpkgStatus(text: string, opts: DpkgStatusOptions = {}): SbomPackage[] {
  const file = opts.file ?? 'var/lib/dpkg/status'
  const installedOnly = opts.installedOnly ?? true
  if (text.length > MAX_DATABASE_BYTES) {
    throw new UserError(`${file}: package database larger than ${MAX_DATABASE_BYTES / (1024 * 1024)} MiB`)
  }
  const out: SbomPackage[] = []
  let fields = new Map<string, string>()
  let current: string | undefined // the field a continuation line belongs to, if one we keep

  const flush = (): void => {
    if (fields.size === 0) return
    const pkg = toPackage(fields, installedOnly)
    fields = new Map()
    current = undefined
    if (pkg === undefined) return
    if (out.length >= MAX_PACKAGES) {
      throw new UserError(`${file}: more than ${MAX_PACKAGES} packages`)
    }
    out.push(pkg)
  }

  let pos = 0
  const len = text.length
  while (pos < len) {
    let end = text.indexOf('\n', pos)
    if (end < 0) end = len
    let line = text.slice(pos, end)
    pos = end + 1
    if (line.endsWith('\r')) line = line.slice(0, -1)

    if (line.trim() === '') {
      // Paragraph separator (lines of only spaces and tabs count too).
      flush()
      continue
    }
    const first = line.charCodeAt(0)
    if (first === 0x20 || first === 0x09) {
      // Continuation of the previous field.
      if (current !== undefined) fields.set(current, `${fields.get(current) ?? ''}\n${line.trim()}`)
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) {
      // Not a field; dpkg would refuse the file, we skip the line.
      current = undefined
      continue
    }
    const key = line.slice(0, colon).trim().toLowerCase()
    if (wanted.has(key)) {
      fields.set(key, line.slice(colon + 1).trim())
      current = key
    } else {
      current = undefined
    }
  }
  flush()
  return out
}

function toPackage(fields: Map<string, string>, installedOnly: boolean): SbomPackage | undefined {
  const name = firstLine(fields.get('package'))
  const version = firstLine(fields.get('version'))
  if (name === undefined || version === undefined) return undefined
  const status = fields.get('status')
  if (installedOnly && status !== undefined) {
    const words = status.split(/\s+/).filter((w) => w !== '')
    const state = words[words.length - 1]
    if (state === undefined || !installedStates.has(state)) return undefined
  }
  const pkg: SbomPackage = { type: 'deb', name, version }
  const arch = firstLine(fields.get('architecture'))
  if (arch !== undefined) pkg.architecture = arch
  const source = firstLine(fields.get('source'))
  if (source !== undefined) {
    const { name: srcName, version: srcVersion } = splitSource(source)
    if (srcName !== '') {
      pkg.source = srcName
      if (srcVersion !== undefined && srcVersion !== '') pkg.sourceVersion = srcVersion
    }
  }
  return pkg
}

/** The first line of a field value, trimmed; undefined when missing or empty. */
function firstLine(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const nl = value.indexOf('\n')
  const v = (nl < 0 ? value : value.slice(0, nl)).trim()
  return v === '' ? undefined : v
}

/** Splits a Source field, "name" or "name (version)". */
export function splitSource(raw: string): { name: string; version: string | undefined } {
  const open = raw.indexOf('(')
  if (open < 0) return { name: raw.trim(), version: undefined }
  const close = raw.indexOf(')', open)
  return {
    name: raw.slice(0, open).trim(),
    version: raw.slice(open + 1, close < 0 ? undefined : close).trim(),
  }
}
