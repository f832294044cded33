// build.lock: the Debian packages a package folder's image is built from,
// pinned by version, archive path, size and SHA256, beside its build.yml.
//
// `keel pkg build` writes it when it is missing (or with --update-lock) and
// otherwise builds from it alone: no index is read, exactly the pinned files
// are fetched (or taken from the cache) and checked against the pinned hashes.
// It is part of the folder, so it is part of the image's tag.
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { AptSource, DebPackage } from '../apt/index.js'
import { UserError } from '../errors/index.js'
import { loadYaml, throwProblems, type Problem, type YamlPath } from '../manifest/yaml.js'

export const lockFileName = 'build.lock'
export const lockVersion = 1

export interface LockedSource {
  uri: string
  suite: string
  components: string[]
}

export interface LockedPackage {
  name: string
  version: string
  architecture: string
  /** Debian source package and its version (for the SBOM label). */
  sourcePackage: string
  sourceVersion: string
  /** The archive root and suite it was resolved from. */
  uri: string
  suite: string
  /** Path of the .deb under the archive root (the index's Filename). */
  filename: string
  size: number
  sha256: string
}

export interface LockFile {
  arch: string
  /** build.yml's `packages:` and `exclude:` when the lock was written, sorted. */
  request: { packages: string[]; exclude: string[] }
  /** The sources the pinned packages come from, sorted. */
  sources: LockedSource[]
  /** Every package unpacked into the image, sorted by name (the unpack order). */
  packages: LockedPackage[]
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The lock for a resolved package set. */
export function createLock(arch: string, request: { packages: string[]; exclude: string[] }, resolved: readonly DebPackage[], sources: readonly AptSource[]): LockFile {
  const packages = resolved.map((p): LockedPackage => ({
    name: p.name, version: p.version, architecture: p.architecture,
    sourcePackage: p.source, sourceVersion: p.sourceVersion,
    uri: p.baseUri, suite: p.suite, filename: p.filename, size: p.size, sha256: p.sha256,
  })).sort((a, b) => byString(a.name, b.name) || byString(a.architecture, b.architecture))
  const used = new Set(packages.map((p) => `${p.uri}\0${p.suite}`))
  const seen = new Set<string>()
  const locked: LockedSource[] = []
  for (const s of sources) {
    const k = `${s.uri}\0${s.suite}`
    if (!used.has(k) || seen.has(k)) continue
    seen.add(k)
    locked.push({ uri: s.uri, suite: s.suite, components: [...s.components].sort(byString) })
  }
  locked.sort((a, b) => byString(a.uri, b.uri) || byString(a.suite, b.suite))
  return {
    arch,
    request: { packages: [...new Set(request.packages)].sort(byString), exclude: [...new Set(request.exclude)].sort(byString) },
    sources: locked,
    packages,
  }
}

/** The lock as text: YAML, keys in a fixed order, lists sorted — the same bytes for the same pins. */
export function renderLock(lock: LockFile): string {
  const doc = {
    lockVersion,
    arch: lock.arch,
    request: { packages: lock.request.packages, exclude: lock.request.exclude },
    sources: lock.sources.map((s) => ({ uri: s.uri, suite: s.suite, components: s.components })),
    packages: lock.packages.map((p) => ({
      name: p.name, version: p.version, architecture: p.architecture,
      sourcePackage: p.sourcePackage, sourceVersion: p.sourceVersion,
      uri: p.uri, suite: p.suite, filename: p.filename, size: p.size, sha256: p.sha256,
    })),
  }
  return '# The Debian packages this folder\'s image is built from, pinned. Written by\n' +
    '# `keel pkg build`; refresh with `keel pkg build --update-lock DIR`. Part of the\n' +
    '# image tag: commit it with build.yml.\n' +
    stringify(doc, { lineWidth: 0, indentSeq: true })
}

const topKeys = ['lockVersion', 'arch', 'request', 'sources', 'packages']
const sourceKeys = ['uri', 'suite', 'components']
const packageKeys = ['name', 'version', 'architecture', 'sourcePackage', 'sourceVersion', 'uri', 'suite', 'filename', 'size', 'sha256']

/** Parses and checks a lock file; every problem is reported as file:line:col. */
export function parseLock(text: string, file: string): LockFile {
  const src = loadYaml(text, file)
  const problems: Problem[] = []
  const bad = (path: YamlPath, msg: string, atKey = false): void => { problems.push(src.problem(path, msg, atKey)) }
  const map = (path: YamlPath, v: unknown, keys: readonly string[]): Record<string, unknown> | undefined => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) { bad(path, 'must be a mapping'); return undefined }
    const m = v as Record<string, unknown>
    for (const k of Object.keys(m)) if (!keys.includes(k)) bad([...path, k], 'unknown field', true)
    for (const k of keys) if (!(k in m)) bad(path, `missing field "${k}"`)
    return m
  }
  const str = (path: YamlPath, v: unknown, pattern?: RegExp, what?: string): string => {
    if (typeof v !== 'string' || v === '') { if (v !== undefined) bad(path, 'must be a non-empty string'); return '' }
    if (pattern && !pattern.test(v)) bad(path, `${JSON.stringify(v)} is not a valid ${what ?? 'value'}`)
    return v
  }
  const list = <T>(path: YamlPath, v: unknown, item: (p: YamlPath, x: unknown) => T): T[] => {
    if (v === undefined) return []
    if (!Array.isArray(v)) { bad(path, 'must be a list'); return [] }
    return v.map((x, i) => item([...path, i], x))
  }
  const debName = /^[a-z0-9][a-z0-9+.-]+$/
  const top = map([], src.data, topKeys)
  if (top === undefined) throwProblems(problems)
  const t = top as Record<string, unknown>
  if (t['lockVersion'] !== undefined && t['lockVersion'] !== lockVersion) {
    bad(['lockVersion'], `this keel reads lock version ${lockVersion}; run keel pkg build --update-lock to rewrite it`)
  }
  const arch = str(['arch'], t['arch'], /^[a-z0-9-]+$/, 'architecture')
  const request = map(['request'], t['request'], ['packages', 'exclude'])
  const reqPackages = request ? list(['request', 'packages'], request['packages'], (p, x) => str(p, x, /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/, 'package request')) : []
  const reqExclude = request ? list(['request', 'exclude'], request['exclude'], (p, x) => str(p, x, debName, 'package name')) : []
  const sources = list(['sources'], t['sources'], (p, x): LockedSource => {
    const m = map(p, x, sourceKeys)
    return {
      uri: str([...p, 'uri'], m?.['uri'], /^[a-z][a-z0-9+.-]*:\/\/\S+$/i, 'URI'),
      suite: str([...p, 'suite'], m?.['suite']),
      components: m ? list([...p, 'components'], m['components'], (q, y) => str(q, y)) : [],
    }
  })
  const seen = new Set<string>()
  const packages = list(['packages'], t['packages'], (p, x): LockedPackage => {
    const m = map(p, x, packageKeys)
    const filename = str([...p, 'filename'], m?.['filename'])
    if (filename !== '' && (filename.startsWith('/') || filename.split('/').includes('..') || /[\s?#]/.test(filename))) {
      bad([...p, 'filename'], 'must be a path inside the archive')
    }
    const size = m?.['size']
    if (m !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) bad([...p, 'size'], 'must be a whole number of bytes')
    const pkg: LockedPackage = {
      name: str([...p, 'name'], m?.['name'], debName, 'package name'),
      version: str([...p, 'version'], m?.['version'], /^[A-Za-z0-9.+~:-]+$/, 'version'),
      architecture: str([...p, 'architecture'], m?.['architecture'], /^[a-z0-9-]+$/, 'architecture'),
      sourcePackage: str([...p, 'sourcePackage'], m?.['sourcePackage'], debName, 'package name'),
      sourceVersion: str([...p, 'sourceVersion'], m?.['sourceVersion'], /^[A-Za-z0-9.+~:-]+$/, 'version'),
      uri: str([...p, 'uri'], m?.['uri'], /^[a-z][a-z0-9+.-]*:\/\/\S+$/i, 'URI'),
      suite: str([...p, 'suite'], m?.['suite']),
      filename,
      size: typeof size === 'number' ? size : 0,
      sha256: str([...p, 'sha256'], m?.['sha256'], /^[0-9a-f]{64}$/, 'SHA256 (64 lower-case hex digits)'),
    }
    const k = `${pkg.name}:${pkg.architecture}`
    if (seen.has(k)) bad(p, `${pkg.name} (${pkg.architecture}) is pinned twice`)
    seen.add(k)
    return pkg
  })
  throwProblems(problems)
  return { arch, request: { packages: reqPackages, exclude: reqExclude }, sources, packages }
}

/**
 * What differs between build.yml's request and the one the lock was written
 * for, as readable phrases; empty when they agree.
 */
export function lockDrift(request: { packages: string[]; exclude: string[] }, lock: LockFile): string[] {
  const out: string[] = []
  const diff = (field: string, want: string[], have: string[]): void => {
    const w = new Set(want)
    const h = new Set(have)
    const added = [...w].filter((x) => !h.has(x)).sort(byString)
    const removed = [...h].filter((x) => !w.has(x)).sort(byString)
    if (added.length > 0) out.push(`${field} adds ${added.join(', ')}`)
    if (removed.length > 0) out.push(`${field} no longer has ${removed.join(', ')}`)
  }
  diff('packages:', request.packages, lock.request.packages)
  diff('exclude:', request.exclude, lock.request.exclude)
  return out
}

/** Reads DIR/build.lock; undefined when there is none. */
export async function readLock(dir: string): Promise<LockFile | undefined> {
  const file = join(dir, lockFileName)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return parseLock(text, file)
}

/**
 * Writes DIR/build.lock atomically, only when its text changes (so an
 * unchanged lock keeps the folder's tag). Returns whether it was written.
 */
export async function writeLock(dir: string, lock: LockFile): Promise<boolean> {
  const file = join(dir, lockFileName)
  const text = renderLock(lock)
  const old = await readFile(file, 'utf8').catch(() => undefined)
  if (old === text) return false
  const tmp = join(dir, `.${lockFileName}.tmp-${process.pid}`)
  try {
    await writeFile(tmp, text, { mode: 0o644 })
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`, {
      hint: 'keel writes the lock file beside build.yml; make the folder writable, or commit a build.lock made elsewhere',
      cause: err,
    })
  }
  return true
}

/** Removes DIR/build.lock (when build.yml no longer names packages). */
export async function removeLock(dir: string): Promise<void> {
  await rm(join(dir, lockFileName), { force: true })
}
