// Parsing a Packages index (the binary package list of one component of a suite).
// The file is large (about 50 MB for Debian main), so the parser walks the text
// by positions and only slices out the fields it keeps.

export interface DebPackage {
  name: string
  version: string
  architecture: string
  /** Path of the .deb relative to baseUri. */
  filename: string
  sha256: string
  size: number
  depends: string
  preDepends: string
  provides: string
  /** Source package name (from Source:, version stripped) or the package name. */
  source: string
  sourceVersion: string
  /** Archive root, e.g. http://deb.debian.org/debian */
  baseUri: string
  suite: string
}

export interface PackagesContext {
  baseUri: string
  suite: string
  /** Keep only packages of this architecture and `all`; undefined keeps everything. */
  arch?: string
}

const F_PACKAGE = 0
const F_VERSION = 1
const F_ARCH = 2
const F_DEPENDS = 3
const F_PREDEPENDS = 4
const F_PROVIDES = 5
const F_FILENAME = 6
const F_SHA256 = 7
const F_SIZE = 8
const F_SOURCE = 9
const FIELD_COUNT = 10

/** Parses the text of a Packages file. Stanzas without Filename, SHA256 or Size are skipped. */
export function parsePackages(text: string, ctx: PackagesContext, out: DebPackage[] = []): DebPackage[] {
  const vals: (string | undefined)[] = new Array<string | undefined>(FIELD_COUNT).fill(undefined)
  let any = false
  let cur = -1
  const len = text.length
  let pos = 0

  const flush = (): void => {
    if (!any) return
    any = false
    const name = vals[F_PACKAGE]
    const version = vals[F_VERSION]
    const filename = vals[F_FILENAME]
    const sha256 = vals[F_SHA256]
    const sizeText = vals[F_SIZE]
    const architecture = vals[F_ARCH] ?? ''
    const keep = name !== undefined && version !== undefined && filename !== undefined &&
      sha256 !== undefined && sizeText !== undefined &&
      (ctx.arch === undefined || architecture === ctx.arch || architecture === 'all')
    if (keep) {
      const size = Number(sizeText)
      if (Number.isSafeInteger(size) && size >= 0) {
        let source = name
        let sourceVersion = version
        const src = vals[F_SOURCE]
        if (src !== undefined && src !== '') {
          const paren = src.indexOf('(')
          if (paren >= 0) {
            source = src.slice(0, paren).trim()
            const close = src.indexOf(')', paren)
            sourceVersion = src.slice(paren + 1, close < 0 ? undefined : close).trim()
          } else {
            source = src
          }
        }
        out.push({
          name, version, architecture, filename, sha256: sha256.toLowerCase(), size,
          depends: vals[F_DEPENDS] ?? '',
          preDepends: vals[F_PREDEPENDS] ?? '',
          provides: vals[F_PROVIDES] ?? '',
          source, sourceVersion,
          baseUri: ctx.baseUri,
          suite: ctx.suite,
        })
      }
    }
    vals.fill(undefined)
  }

  while (pos < len) {
    let eol = text.indexOf('\n', pos)
    if (eol < 0) eol = len
    const c = text.charCodeAt(pos)
    if (eol === pos || (c === 13 && eol === pos + 1)) {
      flush()
      cur = -1
      pos = eol + 1
      continue
    }
    if (c === 32 || c === 9) {
      // Continuation line: only matters for a field we keep (Description is the usual one).
      if (cur >= 0) {
        const more = text.slice(pos, eol).trim()
        if (more !== '' && more !== '.') vals[cur] = `${vals[cur] ?? ''} ${more}`.trim()
      }
      pos = eol + 1
      continue
    }
    any = true
    cur = -1
    let start = -1
    switch (c) {
      case 80: // P
        if (text.startsWith('Package:', pos)) { cur = F_PACKAGE; start = pos + 8 }
        else if (text.startsWith('Pre-Depends:', pos)) { cur = F_PREDEPENDS; start = pos + 12 }
        else if (text.startsWith('Provides:', pos)) { cur = F_PROVIDES; start = pos + 9 }
        break
      case 86: // V
        if (text.startsWith('Version:', pos)) { cur = F_VERSION; start = pos + 8 }
        break
      case 65: // A
        if (text.startsWith('Architecture:', pos)) { cur = F_ARCH; start = pos + 13 }
        break
      case 68: // D
        if (text.startsWith('Depends:', pos)) { cur = F_DEPENDS; start = pos + 8 }
        break
      case 70: // F
        if (text.startsWith('Filename:', pos)) { cur = F_FILENAME; start = pos + 9 }
        break
      case 83: // S
        if (text.startsWith('SHA256:', pos)) { cur = F_SHA256; start = pos + 7 }
        else if (text.startsWith('Size:', pos)) { cur = F_SIZE; start = pos + 5 }
        else if (text.startsWith('Source:', pos)) { cur = F_SOURCE; start = pos + 7 }
        break
    }
    if (cur >= 0) vals[cur] = text.slice(start, eol).trim()
    pos = eol + 1
  }
  flush()
  return out
}

/** One atom of a dependency field: `name[:qual] [(op version)] [[archs]] [<profiles>]`. */
export interface DepAtom {
  name: string
  op?: '<<' | '<=' | '=' | '>=' | '>>'
  version?: string
  /** Architecture restriction list as written, e.g. ['amd64', '!i386']. */
  archs?: string[]
  /** Build-profile formula: groups of terms, e.g. [['!nocheck'], ['stage1', '!cross']]. */
  profiles?: string[][]
  /** The atom as written, for messages. */
  text: string
}

/** A dependency field: a list of alternatives groups (comma-separated, each `a | b`). */
export type DepList = DepAtom[][]

const atomRe = /^([^\s:([<]+)(?::[^\s([<]+)?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s<>=][^)\s]*)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^>]*>\s*)*)$/

/** Parses a dependency field; returns undefined atoms for text that does not parse (reported by the caller). */
export function parseDepends(field: string): { deps: DepList; bad: string[] } {
  const deps: DepList = []
  const bad: string[] = []
  if (field.trim() === '') return { deps, bad }
  for (const group of field.split(',')) {
    if (group.trim() === '') continue
    const alts: DepAtom[] = []
    for (const alt of group.split('|')) {
      const text = alt.trim()
      const m = atomRe.exec(text)
      if (!m) {
        bad.push(text)
        continue
      }
      const atom: DepAtom = { name: m[1] ?? '', text }
      if (m[2] !== undefined && m[3] !== undefined) {
        const op = m[2] === '<' ? '<=' : m[2] === '>' ? '>=' : m[2]
        atom.op = op as DepAtom['op']
        atom.version = m[3]
      }
      if (m[4] !== undefined) atom.archs = m[4].trim().split(/\s+/).filter((s) => s !== '')
      if (m[5] !== undefined && m[5].trim() !== '') {
        atom.profiles = [...m[5].matchAll(/<([^>]*)>/g)].map((g) => (g[1] ?? '').trim().split(/\s+/).filter((s) => s !== ''))
      }
      alts.push(atom)
    }
    if (alts.length > 0) deps.push(alts)
  }
  return { deps, bad }
}

/** A virtual name provided by a package, with its version when the Provides entry is versioned. */
export interface Provided {
  name: string
  version?: string
}

/** Parses a Provides field: `a, b (= 1.0)`. */
export function parseProvides(field: string): Provided[] {
  const out: Provided[] = []
  if (field === '') return out
  for (const part of field.split(',')) {
    const text = part.trim()
    if (text === '') continue
    const paren = text.indexOf('(')
    if (paren < 0) {
      out.push({ name: stripQualifier(text) })
      continue
    }
    const name = stripQualifier(text.slice(0, paren).trim())
    const m = /\(\s*=\s*([^)\s]+)\s*\)/.exec(text.slice(paren))
    out.push(m?.[1] !== undefined ? { name, version: m[1] } : { name })
  }
  return out
}

function stripQualifier(name: string): string {
  const colon = name.indexOf(':')
  return colon >= 0 ? name.slice(0, colon) : name
}
