// Reading the host's APT source lists: the one-line format of sources.list and
// *.list files, and the deb822 format of *.sources files (sources.list(5)).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { UserError } from '../errors/index.js'

export interface AptSource {
  uri: string
  suite: string
  components: string[]
  architectures?: string[]
  signedBy?: string
  /** "file:line" where the entry was read. */
  origin: string
}

/** sources.list.d file names apt accepts; anything else is ignored, as apt does. */
const partName = /^[A-Za-z0-9_.-]+\.(list|sources)$/

/**
 * The `deb` entries of the host's APT configuration under `rootDir`:
 * etc/apt/sources.list and etc/apt/sources.list.d/{*.list,*.sources}.
 * One AptSource per (uri, suite); entries repeated across lines are merged.
 */
export function readHostSources(rootDir = '/'): AptSource[] {
  const etc = join(rootDir, 'etc', 'apt')
  const found: AptSource[] = []
  const main = join(etc, 'sources.list')
  const mainText = readOptional(main)
  if (mainText !== undefined) found.push(...parseOneLineSources(mainText, main))
  const dir = join(etc, 'sources.list.d')
  let names: string[] = []
  try {
    names = readdirSync(dir).filter((n) => partName.test(n)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  for (const name of names) {
    const file = join(dir, name)
    const text = readOptional(file)
    if (text === undefined) continue
    found.push(...(name.endsWith('.sources') ? parseDeb822Sources(text, file) : parseOneLineSources(text, file)))
  }
  return mergeSources(found)
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EISDIR') return undefined
    throw err
  }
}

function normaliseUri(uri: string): string {
  return uri.replace(/\/+$/, '')
}

function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter((s) => s !== '')
}

/** Parses the one-line format; `file` names the origin in errors and in AptSource.origin. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = []
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const origin = `${file}:${n + 1}`
    const raw = lines[n] ?? ''
    const hash = raw.indexOf('#')
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim()
    if (line === '') continue
    const bad = (why: string): UserError =>
      new UserError(`${origin}: malformed source line (${why}): ${raw.trim()}`)
    const type = /^[^\s[]*/.exec(line)?.[0] ?? ''
    let rest = line.slice(type.length).trim()
    if (type !== 'deb' && type !== 'deb-src') throw bad(`unknown type "${type}"`)
    const isDeb = type === 'deb'
    const options: Record<string, string[]> = {}
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']')
      if (close < 0) throw bad('unterminated [options]')
      const optText = rest.slice(1, close).trim()
      rest = rest.slice(close + 1).trim()
      for (const opt of optText.split(/\s+/).filter((s) => s !== '')) {
        const m = /^([A-Za-z][A-Za-z0-9-]*)([+-]?)=(.*)$/.exec(opt)
        if (!m) throw bad(`option "${opt}" is not key=value`)
        const key = (m[1] ?? '').toLowerCase()
        const value = m[3] ?? ''
        if (m[2] === '-') continue // arch-=x removes from the default set; we keep what is named
        options[key] = [...(options[key] ?? []), ...(key === 'signed-by' ? [value] : splitList(value))]
      }
    }
    const words = rest.split(/\s+/).filter((s) => s !== '')
    const [uri, suite, ...components] = words
    if (uri === undefined) throw bad('no URI')
    if (suite === undefined) throw bad('no suite')
    if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw bad(`"${uri}" is not a URI`)
    if (!suite.endsWith('/') && components.length === 0) throw bad('no components')
    if (suite.endsWith('/') && components.length > 0) throw bad('an exact path (suite ending in /) takes no components')
    if (!isDeb) continue
    const src: AptSource = { uri: normaliseUri(uri), suite, components, origin }
    const arch = options['arch']
    if (arch !== undefined && arch.length > 0) src.architectures = arch
    const signedBy = options['signed-by']
    if (signedBy !== undefined && signedBy.length > 0) src.signedBy = signedBy.join(',')
    out.push(src)
  }
  return out
}

interface Stanza {
  line: number
  fields: Map<string, { value: string; line: number }>
}

/** Splits deb822 text into stanzas; field names are lower-cased. Comment lines are dropped. */
function parseDeb822(text: string, file: string): Stanza[] {
  const stanzas: Stanza[] = []
  let cur: Stanza | undefined
  let lastKey: string | undefined
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const raw = (lines[n] ?? '').replace(/\r$/, '')
    if (raw.startsWith('#')) continue
    if (raw.trim() === '') {
      if (cur) stanzas.push(cur)
      cur = undefined
      lastKey = undefined
      continue
    }
    if (raw.startsWith(' ') || raw.startsWith('\t')) {
      const field = cur && lastKey !== undefined ? cur.fields.get(lastKey) : undefined
      if (!field) throw new UserError(`${file}:${n + 1}: malformed deb822 stanza (continuation line without a field)`)
      const cont = raw.trim()
      field.value += '\n' + (cont === '.' ? '' : cont)
      continue
    }
    const m = /^([^\s:]+):(.*)$/.exec(raw)
    if (!m) throw new UserError(`${file}:${n + 1}: malformed deb822 line (expected "Field: value"): ${raw}`)
    if (!cur) cur = { line: n + 1, fields: new Map() }
    lastKey = (m[1] ?? '').toLowerCase()
    cur.fields.set(lastKey, { value: (m[2] ?? '').trim(), line: n + 1 })
  }
  if (cur) stanzas.push(cur)
  return stanzas
}

/** Parses the deb822 (.sources) format. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = []
  for (const st of parseDeb822(text, file)) {
    const origin = `${file}:${st.line}`
    const get = (k: string): string | undefined => st.fields.get(k)?.value
    const enabled = get('enabled')
    if (enabled !== undefined && /^(no|false|0)$/i.test(enabled.trim())) continue
    const types = splitList(get('types') ?? '')
    const uris = splitList(get('uris') ?? '')
    const suites = splitList(get('suites') ?? '')
    const components = splitList(get('components') ?? '')
    if (types.length === 0) throw new UserError(`${origin}: source stanza has no Types`)
    if (uris.length === 0) throw new UserError(`${origin}: source stanza has no URIs`)
    if (suites.length === 0) throw new UserError(`${origin}: source stanza has no Suites`)
    for (const t of types) {
      if (t !== 'deb' && t !== 'deb-src') throw new UserError(`${origin}: unknown source type "${t}"`)
    }
    for (const s of suites) {
      if (s.endsWith('/') && components.length > 0) {
        throw new UserError(`${origin}: suite "${s}" is an exact path and takes no Components`)
      }
      if (!s.endsWith('/') && components.length === 0) throw new UserError(`${origin}: source stanza has no Components`)
    }
    if (!types.includes('deb')) continue
    const archs = splitList(get('architectures') ?? '')
    const signedBy = get('signed-by')
    for (const uri of uris) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw new UserError(`${origin}: "${uri}" is not a URI`)
      for (const suite of suites) {
        const src: AptSource = { uri: normaliseUri(uri), suite, components: [...components], origin }
        if (archs.length > 0) src.architectures = archs
        if (signedBy !== undefined && signedBy !== '') src.signedBy = signedBy
        out.push(src)
      }
    }
  }
  return out
}

/** One entry per (uri, suite), in first-seen order; components (and architectures) are merged. */
export function mergeSources(list: AptSource[]): AptSource[] {
  const byKey = new Map<string, AptSource>()
  for (const s of list) {
    const key = `${s.uri}\u0000${s.suite}`
    const prev = byKey.get(key)
    if (!prev) {
      byKey.set(key, { ...s, components: [...new Set(s.components)] })
      continue
    }
    for (const c of s.components) if (!prev.components.includes(c)) prev.components.push(c)
    if (prev.architectures !== undefined) {
      if (s.architectures === undefined) delete prev.architectures
      else for (const a of s.architectures) if (!prev.architectures.includes(a)) prev.architectures.push(a)
    }
    if (prev.signedBy === undefined && s.signedBy !== undefined) prev.signedBy = s.signedBy
  }
  return [...byKey.values()]
}

/** VERSION_CODENAME from etc/os-release (or usr/lib/os-release) under `rootDir`. */
export function hostCodename(rootDir = '/'): string {
  const candidates = [join(rootDir, 'etc', 'os-release'), join(rootDir, 'usr', 'lib', 'os-release')]
  for (const file of candidates) {
    const text = readOptional(file)
    if (text === undefined) continue
    const fields = parseOsRelease(text)
    const codename = fields['VERSION_CODENAME']
    if (codename !== undefined && codename !== '') return codename
    throw new UserError(`${file}: no VERSION_CODENAME`, { hint: 'pass the suite explicitly' })
  }
  throw new UserError(`no os-release file under ${rootDir} (looked for ${candidates.join(', ')})`)
}

/** Parses os-release(5): KEY=value lines with shell-style quoting. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (!m) continue
    let v = m[2] ?? ''
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) {
      const q = v[0]
      v = v.slice(1, -1)
      if (q === '"') v = v.replace(/\\(["\\$`])/g, '$1')
    }
    out[m[1] ?? ''] = v
  }
  return out
}

/** Suites that have no -updates companion. */
const noUpdates = new Set(['sid', 'unstable', 'experimental', 'rc-buggy'])

/**
 * Sources for a --mirror override: the suite and its -updates suite (none for
 * sid/unstable/experimental, which have no -updates).
 */
export function mirrorSources(mirror: string, suite: string, components: string[] = ['main']): AptSource[] {
  const uri = normaliseUri(mirror)
  const suites = noUpdates.has(suite) ? [suite] : [suite, `${suite}-updates`]
  return suites.map((s) => ({ uri, suite: s, components: [...components], origin: '--mirror' }))
}
