// Manifest text → typed Manifest, or every problem at once as
// file:line:col: path: message. Checks run in three layers: YAML syntax and
// limits (yaml.ts), the JSON Schema (schema.ts, validate.ts), then what a
// schema cannot say (image references, file sources, duplicate names, ...).
// Merged manifests get a last layer: checks across files.
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UserError } from '../errors/index.js'
import { parseReference } from '../oci/index.js'
import { checkBind, checkCapabilities, checkId, checkNamespace, checkPropagation, checkTmpfs, parseRlimit } from './fields.js'
import type { FileEntry, KernelSpec, Manifest, Origin, Section, VolumeEntry } from './types.js'
import { manifestSchemaProblems } from './validate.js'
import { formatProblem, loadYaml, throwProblems, type Problem, type YamlPath, type YamlSource } from './yaml.js'

export const sections: readonly Section[] = ['onboot', 'onshutdown', 'services']

/** The prefix naming a package folder instead of an image reference. */
export const pkgPrefix = '@pkg:'

/** skopeo-style transports a manifest may name an image with. */
export const imageTransports = ['docker-archive:', 'oci-archive:', 'oci:'] as const

export async function readManifestFile(file: string, stdin?: () => Promise<string>, cwd = process.cwd()): Promise<Manifest> {
  const { text, name, dir } = await readManifestText(file, stdin, cwd)
  return parseManifest(text, name, dir)
}

/**
 * Reads a manifest file ("-" for stdin), relative to `cwd`; returns its text,
 * the name to report it by (as given), and its folder.
 */
export async function readManifestText(file: string, stdin?: () => Promise<string>, cwd = process.cwd()): Promise<{ text: string; name: string; dir: string }> {
  if (file === '-') {
    if (!stdin) throw new UserError('reading a manifest from stdin is not possible here')
    return { text: await stdin(), name: '<stdin>', dir: cwd }
  }
  const path = resolve(cwd, file)
  try {
    return { text: await readFile(path, 'utf8'), name: file, dir: dirname(path) }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`)
    if (code === 'EISDIR') throw new UserError(`${file}: is a folder, not a manifest`)
    throw err
  }
}

/**
 * Parses one manifest. `dir` is the folder `@pkg:` paths are relative to; they
 * are made absolute here so that merged manifests from different folders work.
 */
export function parseManifest(text: string, file: string, dir: string): Manifest {
  const { manifest, problems } = checkManifest(text, file, dir)
  throwProblems(problems)
  throwProblems(crossChecks(manifest!))
  return manifest!
}

/**
 * The checks of one file on its own (no checks across files: a uid may name
 * a container another file defines); returns the problems instead of
 * throwing them. The manifest is built even when there are problems, from
 * whatever is well-formed, so that later checks can still run;
 * mergeManifests, or crossChecks, does the rest.
 */
export function checkManifest(text: string, file: string, dir: string): { manifest: Manifest | undefined; problems: Problem[] } {
  const src = loadYaml(text, file)
  const problems: Problem[] = []
  const bad = (path: YamlPath, msg: string, atKey = false): void => { problems.push(src.problem(path, msg, atKey)) }
  if (src.data === null || src.data === undefined) {
    bad([], 'the manifest is empty')
    return { manifest: undefined, problems }
  }
  problems.push(...manifestSchemaProblems(src.data, (p, m, k) => src.problem(p, m, k)))
  if (!isRecord(src.data)) return { manifest: undefined, problems }

  const raw = src.data
  const manifest = emptyManifest()
  manifest.warnings.push(...src.warnings)
  const origin = (path: YamlPath): Origin => {
    const p = src.problem(path, '')
    return { file: p.file, line: p.line, col: p.col, path: p.path }
  }
  const image = (path: YamlPath, value: string): string => {
    const why = checkImageString(value)
    if (why) bad(path, why)
    return absoluteImagePaths(value, dir)
  }

  const k = raw['kernel']
  if (isRecord(k)) {
    const kernel: KernelSpec = {
      image: typeof k['image'] === 'string' && k['image'] !== '' ? image(['kernel', 'image'], k['image']) : '',
      cmdline: typeof k['cmdline'] === 'string' ? k['cmdline'] : '',
    }
    if (typeof k['binary'] === 'string') kernel.binary = k['binary']
    if (typeof k['tar'] === 'string') kernel.tar = k['tar']
    if (typeof k['ucode'] === 'string') kernel.ucode = k['ucode']
    manifest.kernel = kernel
    if (kernel.image !== '') manifest.origins.set('kernel', origin(['kernel', 'image']))
  }
  for (const [i, img] of listOf(raw['init']).entries()) {
    if (typeof img !== 'string' || img === '') continue
    manifest.origins.set(`init[${manifest.init.length}]`, origin(['init', i]))
    manifest.init.push(image(['init', i], img))
  }
  for (const section of sections) {
    for (const [i, e] of listOf(raw[section]).entries()) {
      if (!isRecord(e)) continue
      const at: YamlPath = [section, i]
      checkEntry(e, section, at, bad)
      if (typeof e['name'] !== 'string' || typeof e['image'] !== 'string' || e['image'] === '') continue
      const key = `${section}[${manifest[section].length}]`
      manifest.origins.set(key, origin([...at, 'image']))
      manifest.places.set(key, { src, path: at })
      manifest[section].push({ ...e, name: e['name'], image: image([...at, 'image'], e['image']) })
    }
  }
  for (const [i, f] of listOf(raw['files']).entries()) {
    if (!isRecord(f)) continue
    checkFile(f, ['files', i], bad)
    if (typeof f['path'] !== 'string') continue
    manifest.places.set(`files[${manifest.files.length}]`, { src, path: ['files', i] })
    manifest.files.push(f as unknown as FileEntry)
  }
  for (const [i, v] of listOf(raw['volumes']).entries()) {
    if (!isRecord(v) || typeof v['name'] !== 'string') continue
    const key = `volumes[${manifest.volumes.length}]`
    manifest.places.set(key, { src, path: ['volumes', i] })
    if (typeof v['image'] === 'string' && v['image'] !== '') {
      manifest.origins.set(key, origin(['volumes', i, 'image']))
      manifest.volumes.push({ ...(v as unknown as VolumeEntry), image: image(['volumes', i, 'image'], v['image']) })
    } else {
      manifest.volumes.push(v as unknown as VolumeEntry)
    }
  }
  if (raw['trust'] !== undefined) {
    const o = origin(['trust'])
    manifest.warnings.push(`${o.file}:${o.line}:${o.col}: trust: image signature trust is not supported; the section is ignored`)
  }
  return { manifest, problems }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

function stringsOf(v: unknown): Array<[number, string]> {
  return listOf(v).flatMap((x, i): Array<[number, string]> => (typeof x === 'string' ? [[i, x]] : []))
}

export function emptyManifest(): Manifest {
  return {
    kernel: undefined, init: [], onboot: [], onshutdown: [], services: [], files: [], volumes: [],
    origins: new Map(), places: new Map(), warnings: [],
  }
}

/** A transport image string split up: `oci:DIR:ref` → { transport: 'oci:', path: 'DIR', ref: 'ref' }. */
export function splitTransport(value: string): { transport: (typeof imageTransports)[number]; path: string; ref: string | undefined } | undefined {
  const transport = imageTransports.find((t) => value.startsWith(t))
  if (!transport) return undefined
  // As skopeo does, the path ends at the first ":" (paths with ":" cannot be named).
  const rest = value.slice(transport.length)
  const colon = rest.indexOf(':')
  return colon < 0 ? { transport, path: rest, ref: undefined } : { transport, path: rest.slice(0, colon), ref: rest.slice(colon + 1) }
}

/** @pkg: and transport paths made absolute, relative to the manifest's folder. */
export function absoluteImagePaths(value: string, dir: string): string {
  if (value.startsWith(pkgPrefix)) return `${pkgPrefix}${resolve(dir, value.slice(pkgPrefix.length))}`
  const t = splitTransport(value)
  if (t && t.path !== '') return `${t.transport}${resolve(dir, t.path)}${t.ref === undefined ? '' : `:${t.ref}`}`
  return value
}

/** Why an image string is not usable, or undefined. */
export function checkImageString(value: string): string | undefined {
  if (value.startsWith(pkgPrefix)) return value.length > pkgPrefix.length ? undefined : '@pkg: needs the path of a package folder'
  const t = splitTransport(value)
  if (t) return t.path === '' ? `${t.transport} needs a path` : t.ref === '' ? `${t.transport}${t.path}: empty reference after ":"` : undefined
  try {
    parseReference(value)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

type Bad = (path: YamlPath, msg: string, atKey?: boolean) => void

/** What the schema cannot check inside one entry. */
function checkEntry(e: Record<string, unknown>, section: Section, at: YamlPath, bad: Bad): void {
  if (typeof e['image'] === 'string' && e['image'] === '') return // the schema said so already
  checkImageFields(e, at, bad)
  if (isRecord(e['keel']) && section !== 'services') {
    for (const key of Object.keys(e['keel'])) bad([...at, 'keel', key], `only services have "${key}"`, true)
  }
}

/**
 * Checks of per-image field values, shared by manifest entries and image
 * labels. Values of the wrong type are skipped: the schema reports those.
 */
export function checkImageFields(e: Record<string, unknown>, at: YamlPath, bad: Bad): void {
  for (const key of ['capabilities', 'capabilities.add', 'ambient'] as const) {
    const list = stringsOf(e[key]).map(([, c]) => c)
    const why = list.length > 0 ? checkCapabilities(list) : undefined
    if (why) bad([...at, key], why)
  }
  for (const key of ['binds', 'binds.add'] as const) {
    for (const [j, b] of stringsOf(e[key])) {
      const why = checkBind(b)
      if (why) bad([...at, key, j], why)
    }
  }
  for (const [j, t] of stringsOf(e['tmpfs'])) {
    const why = checkTmpfs(t)
    if (why) bad([...at, 'tmpfs', j], why)
  }
  for (const [j, r] of stringsOf(e['rlimits'])) {
    const parsed = parseRlimit(r)
    if (typeof parsed === 'string') bad([...at, 'rlimits', j], parsed)
  }
  for (const key of ['net', 'pid', 'ipc', 'uts', 'userns'] as const) {
    const v = e[key]
    const why = typeof v === 'string' ? checkNamespace(key, v) : undefined
    if (why) bad([...at, key], why)
  }
  const prop = e['rootfsPropagation']
  const propWhy = typeof prop === 'string' ? checkPropagation(prop) : undefined
  if (propWhy) bad([...at, 'rootfsPropagation'], propWhy)
  const cwd = e['cwd']
  if (typeof cwd === 'string' && (!cwd.startsWith('/') || cwd.split('/').includes('..'))) bad([...at, 'cwd'], 'must be an absolute path without ".."')
  const oom = e['oomScoreAdj']
  if (typeof oom === 'number' && (oom < -1000 || oom > 1000)) bad([...at, 'oomScoreAdj'], 'must be between -1000 and 1000')
  if (Array.isArray(e['command']) && e['command'].length === 0) bad([...at, 'command'], 'must not be an empty list')
}

/** What the schema cannot check in a files: entry. */
function checkFile(f: Record<string, unknown>, at: YamlPath, bad: Bad): void {
  if (typeof f['path'] === 'string') {
    const path = f['path'].replace(/^\/+/, '')
    if (path === '') bad([...at, 'path'], 'must name a file, not /')
    else if (path.split('/').some((c) => c === '..' || c === '.' || c === '')) bad([...at, 'path'], 'must not contain ".", ".." or empty components')
  }
  const kinds = (['contents', 'source', 'metadata', 'symlink'] as const).filter((k) => f[k] !== undefined)
  if (f['directory'] === true && kinds.length > 0) bad(at, `a directory cannot also have ${kinds.map((k) => `"${k}"`).join(' or ')}`)
  else if (kinds.length > 1) bad(at, `give only one of ${kinds.map((k) => `"${k}"`).join(', ')}`)
  else if (f['directory'] !== true && kinds.length === 0) bad(at, 'needs one of "contents", "source", "metadata", "symlink" or "directory: true"')
  if (f['optional'] === true && f['source'] === undefined) bad([...at, 'optional'], 'only applies to a file with "source"', true)
  if (f['source'] === '') bad([...at, 'source'], 'must not be empty')
}

/** Checks across the whole (possibly merged) manifest; every problem points into the file it came from. */
export function crossChecks(m: Manifest): Problem[] {
  const problems: Problem[] = []
  const at = (key: string, sub: YamlPath, msg: string, atKey = false): void => {
    const place = m.places.get(key)
    if (place) problems.push(place.src.problem([...place.path, ...sub], msg, atKey))
    else problems.push({ file: '(merged)', line: 0, col: 0, path: key, message: msg })
  }
  const firstAt = (key: string): string => {
    const place = m.places.get(key)
    if (!place) return key
    const p = place.src.problem(place.path, '')
    return `${p.file}:${p.line}`
  }

  // Services run side by side, so their names must differ (LinuxKit's rule).
  const serviceAt = new Map<string, number>()
  m.services.forEach((s, i) => {
    const first = serviceAt.get(s.name)
    if (first !== undefined) at(`services[${i}]`, ['name'], `duplicate service name "${s.name}" (first at ${firstAt(`services[${first}]`)})`)
    else serviceAt.set(s.name, i)
  })
  const volumeAt = new Map<string, number>()
  m.volumes.forEach((v, i) => {
    const first = volumeAt.get(v.name)
    if (first !== undefined) at(`volumes[${i}]`, ['name'], `duplicate volume name "${v.name}" (first at ${firstAt(`volumes[${first}]`)})`)
    else volumeAt.set(v.name, i)
  })

  const names = new Set<string>()
  for (const section of sections) for (const e of m[section]) names.add(e.name)
  for (const section of sections) {
    m[section].forEach((e, i) => {
      const key = `${section}[${i}]`
      for (const field of ['uid', 'gid'] as const) {
        const why = e[field] === undefined ? undefined : checkId(e[field], names)
        if (why) at(key, [field], why)
      }
      ;((e['additionalGids'] ?? []) as unknown[]).forEach((g, j) => {
        const why = checkId(g, names)
        if (why) at(key, ['additionalGids', j], why)
      })
    })
  }
  m.files.forEach((f, i) => {
    for (const field of ['uid', 'gid'] as const) {
      const why = f[field] === undefined ? undefined : checkId(f[field], names)
      if (why) at(`files[${i}]`, [field], why)
    }
  })

  // Binds whose source is not an absolute path name a volume (LinuxKit's rule).
  const volumes = new Map(m.volumes.map((v) => [v.name, v]))
  for (const section of sections) {
    m[section].forEach((e, i) => {
      const key = `${section}[${i}]`
      for (const field of ['binds', 'binds.add'] as const) {
        const list = e[field]
        if (!Array.isArray(list)) continue
        list.forEach((b: unknown, j) => {
          if (typeof b !== 'string') return
          const parts = b.split(':')
          if (parts[0]!.startsWith('/') || parts.length < 2) return
          const v = volumes.get(parts[0]!)
          if (!v) at(key, [field, j], `"${parts[0]}" is neither an absolute path nor a volume in this manifest`)
          else if (v.readonly && parts[2] !== 'ro') at(key, [field, j], `volume "${v.name}" is read-only: bind it with ":ro"`)
        })
      }
      const mounts = e['mounts']
      if (Array.isArray(mounts)) {
        mounts.forEach((mt: unknown, j) => {
          if (mt === null || typeof mt !== 'object') return
          const mount = mt as Record<string, unknown>
          if (mount['type'] !== 'bind' || typeof mount['source'] !== 'string' || mount['source'].startsWith('/')) return
          const v = volumes.get(mount['source'])
          if (!v) at(key, ['mounts', j, 'source'], `"${mount['source']}" is neither an absolute path nor a volume in this manifest`)
        })
      }
    })
  }

  // keel.after: known services, no cycles.
  const after = new Map(m.services.map((s) => [s.name, s.keel?.after ?? []]))
  m.services.forEach((s, i) => {
    for (const [j, dep] of (s.keel?.after ?? []).entries()) {
      if (dep === s.name) at(`services[${i}]`, ['keel', 'after', j], 'a service cannot start after itself')
      else if (!after.has(dep)) at(`services[${i}]`, ['keel', 'after', j], `no service named "${dep}"`)
    }
  })
  const cycle = findCycle(after)
  if (cycle) {
    const i = m.services.findIndex((s) => s.name === cycle[0])
    at(`services[${i}]`, ['keel', 'after'], `start order has a cycle: ${cycle.join(' → ')}`)
  }
  return problems
}

function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n]
    state.set(n, 'open')
    stack.push(n)
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d) || d === n) continue
      const c = visit(d)
      if (c) return c
    }
    stack.pop()
    state.set(n, 'done')
    return undefined
  }
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n)
    if (c) return c
  }
  return undefined
}

/**
 * Merges manifests as LinuxKit does: kernel fields replaced by later non-empty
 * values (binary, tar and ucode by any later value), lists concatenated. Unlike
 * LinuxKit, volumes from every file are kept. Cross-file problems (duplicate
 * service or volume names, unknown container names) are thrown together.
 */
export function mergeManifests(list: readonly Manifest[], options: { check?: boolean } = {}): Manifest {
  const out = emptyManifest()
  const rekey = (from: Manifest, key: string, to: string): void => {
    const o = from.origins.get(key)
    if (o) out.origins.set(to, o)
    const p = from.places.get(key)
    if (p) out.places.set(to, p)
  }
  for (const m of list) {
    if (m.kernel) {
      const k = m.kernel
      const prev = out.kernel
      out.kernel = {
        image: k.image || prev?.image || '',
        cmdline: k.cmdline || prev?.cmdline || '',
      }
      const binary = k.binary || prev?.binary
      if (binary) out.kernel.binary = binary
      const tar = k.tar ?? prev?.tar
      if (tar !== undefined) out.kernel.tar = tar
      const ucode = k.ucode ?? prev?.ucode
      if (ucode !== undefined) out.kernel.ucode = ucode
      if (k.image) rekey(m, 'kernel', 'kernel')
    }
    m.init.forEach((img, i) => {
      rekey(m, `init[${i}]`, `init[${out.init.length}]`)
      out.init.push(img)
    })
    for (const section of sections) {
      m[section].forEach((e, i) => {
        rekey(m, `${section}[${i}]`, `${section}[${out[section].length}]`)
        out[section].push(e)
      })
    }
    m.files.forEach((f, i) => {
      rekey(m, `files[${i}]`, `files[${out.files.length}]`)
      out.files.push(f)
    })
    m.volumes.forEach((v, i) => {
      rekey(m, `volumes[${i}]`, `volumes[${out.volumes.length}]`)
      out.volumes.push(v)
    })
    out.warnings.push(...m.warnings)
  }
  if (options.check !== false) throwProblems(crossChecks(out))
  return out
}

/** One line per problem, for printing. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map(formatProblem)
}

export type { YamlSource }

/** The manifest as plain data (what `keel build --dry-run` prints and `metadata:` files hold). */
export function manifestData(m: Manifest): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (m.kernel) out['kernel'] = { ...m.kernel }
  if (m.init.length > 0) out['init'] = [...m.init]
  for (const section of sections) if (m[section].length > 0) out[section] = m[section].map((e) => ({ ...e }))
  if (m.files.length > 0) out['files'] = m.files.map((f) => ({ ...f }))
  if (m.volumes.length > 0) out['volumes'] = m.volumes.map((v) => ({ ...v }))
  return out
}
