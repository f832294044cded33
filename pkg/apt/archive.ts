// Loading the package lists of a set of APT sources into one in-memory index.
import { createReadStream, createWriteStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { errorMessage, IntegrityError, NetworkError, UserError, withAction } from '../errors/index.js'
import type { ToolRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import {
  cachedFileOk, commit, downloadVerified, fetchBuffer, hashFile, NotFoundError, tempBeside, type HttpOptions,
} from './download.js'
import { decompressFile } from './decompress.js'
import { parsePackages, parseProvides, type DebPackage } from './packages.js'
import { parseRelease, type ReleaseEntry, type ReleaseInfo } from './release.js'
import type { AptSource } from './sources.js'
import { checkReleaseDates, sourceKeyrings, verifyClearsigned } from './verify.js'
import { compareVersions } from './version.js'

export interface ArchiveIndex {
  arch: string
  /** Package name → every available version, highest first. */
  packages: Map<string, DebPackage[]>
  /** Virtual name (from Provides) → the packages providing it. */
  providers: Map<string, DebPackage[]>
}

export interface LoadArchiveOptions {
  sources: AptSource[]
  /** Debian architecture, e.g. 'amd64'. */
  arch: string
  cacheDir: string
  runner: ToolRunner
  log: Logger
  fetchImpl?: typeof fetch
  /** Passed to the HTTP layer (tests use a short delay). */
  retryDelayMs?: number
  /** The clock Valid-Until and Date are checked against (default: now). */
  now?: Date
  /** Root of the host's apt keyrings (default '/'; tests point elsewhere). */
  keyringRoot?: string
}

/** Compressions tried for each Packages index, in order of preference. */
const compressions = ['.xz', '.gz', ''] as const

interface IndexFile {
  /** Local path of the decompressed Packages text. */
  path: string
  /** Remove `path` after reading (it is not cached). */
  temporary: boolean
  source: AptSource
  component: string
}

/**
 * Fetches InRelease of every source, checks its signature (gpgv, against the
 * source's Signed-By or the archive keyrings) and its Valid-Until, fetches
 * the Packages index of every component, verifies each against the signed
 * InRelease, and parses them into an index of packages of `arch` and `all`.
 */
export async function loadArchiveIndex(opts: LoadArchiveOptions): Promise<ArchiveIndex> {
  const { sources, arch, log } = opts
  if (sources.length === 0) throw new UserError('no APT sources configured')
  // Every source is settled before a failure is reported, so nothing is
  // still writing into the cache when the caller moves on.
  const settled = await Promise.allSettled(sources.map((s) =>
    withAction(`indexing ${s.uri} ${s.suite} (from ${s.origin})`, () => prepareSource(s, opts))))
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  const files = settled.map((r) => (r as PromiseFulfilledResult<IndexFile[]>).value)
  const all: DebPackage[] = []
  for (const f of files.flat()) {
    await withAction(`reading Packages of ${f.source.uri} ${f.source.suite} ${f.component}`, async () => {
      // latin1: the fields kept are ASCII, and a one-byte string halves memory and decode time.
      const text = (await readFile(f.path)).toString('latin1')
      if (f.temporary) await unlink(f.path).catch(() => undefined)
      const before = all.length
      parsePackages(text, { baseUri: f.source.uri, suite: f.source.suite, arch }, all)
      log.debug(`apt: ${f.source.uri} ${f.source.suite}/${f.component}: ${all.length - before} packages`)
    })
  }
  const index = buildIndex(all, arch)
  if (index.packages.size === 0) {
    throw new UserError(`no ${arch} packages found in the configured APT sources`, {
      hint: `sources: ${sources.map((s) => `${s.uri} ${s.suite}`).join('; ')}`,
    })
  }
  return index
}

/** Groups packages by name (highest version first, duplicates dropped) and by provided name. */
export function buildIndex(all: DebPackage[], arch: string): ArchiveIndex {
  const packages = new Map<string, DebPackage[]>()
  for (const p of all) {
    const list = packages.get(p.name)
    if (list === undefined) packages.set(p.name, [p])
    else if (!list.some((q) => q.version === p.version && q.architecture === p.architecture)) list.push(p)
  }
  const providers = new Map<string, DebPackage[]>()
  for (const list of packages.values()) {
    if (list.length > 1) list.sort((a, b) => compareVersions(b.version, a.version))
    for (const p of list) {
      if (p.provides === '') continue
      for (const prov of parseProvides(p.provides)) {
        const l = providers.get(prov.name)
        if (l === undefined) providers.set(prov.name, [p])
        else if (!l.includes(p)) l.push(p)
      }
    }
  }
  return { arch, packages, providers }
}

/** Directory URL holding InRelease for a source, with a trailing slash. */
function distsUrl(s: AptSource): string {
  if (s.suite.endsWith('/')) {
    const rel = s.suite.replace(/^\.\/?/, '')
    return `${s.uri}/${rel}`.replace(/\/*$/, '/')
  }
  return `${s.uri}/dists/${s.suite}/`
}

async function prepareSource(s: AptSource, opts: LoadArchiveOptions): Promise<IndexFile[]> {
  const { arch, log } = opts
  if (s.architectures !== undefined && !s.architectures.includes(arch)) {
    log.debug(`apt: ${s.uri} ${s.suite} is limited to ${s.architectures.join(',')}; skipping for ${arch}`)
    return []
  }
  const http: HttpOptions = { log, ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}), ...(opts.retryDelayMs === undefined ? {} : { retryDelayMs: opts.retryDelayMs }) }
  const base = distsUrl(s)
  const release = await obtainRelease(s, `${base}InRelease`, opts, http)
  const flat = s.suite.endsWith('/')
  const components = flat ? [''] : s.components
  const out: IndexFile[] = []
  for (const component of components) {
    const stem = flat ? 'Packages' : `${component}/binary-${arch}/Packages`
    const file = await obtainPackages(base, stem, release, opts, http)
    if (file === undefined) {
      const why = !flat && release.components.length > 0 && !release.components.includes(component)
        ? `the suite has no component "${component}" (it has ${release.components.join(', ')})`
        : release.architectures.length > 0 && !release.architectures.includes(arch)
          ? `the suite has no architecture ${arch}`
          : `InRelease lists no ${stem} index`
      log.warn(`skipping ${s.uri} ${s.suite} ${component || '(flat)'} (${s.origin}): ${why}`)
      continue
    }
    out.push({ ...file, source: s, component: component || '.' })
  }
  return out
}

/** The last verified InRelease of a suite, kept for offline use (and verified again on use). */
function inReleaseCachePath(cacheDir: string, url: string): string {
  return join(cacheDir, 'apt', 'inrelease', `${createHash('sha256').update(url).digest('hex')}.InRelease`)
}

/**
 * Fetches a suite's InRelease, verifies its signature and dates, and parses
 * the signed text. When the mirror cannot be reached, the cached copy of the
 * last good InRelease is used instead, after the same checks.
 */
async function obtainRelease(s: AptSource, url: string, opts: LoadArchiveOptions, http: HttpOptions): Promise<ReleaseInfo> {
  const { log, cacheDir } = opts
  const cached = inReleaseCachePath(cacheDir, url)
  let raw: Buffer
  let fromCache = false
  try {
    raw = await fetchBuffer(url, http)
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new UserError(`${url}: not found; is suite "${s.suite}" right for ${s.uri}?`, { cause: err })
    }
    if (!(err instanceof NetworkError)) throw err
    try {
      raw = await readFile(cached)
    } catch {
      throw err
    }
    log.warn(`${url}: unreachable (${errorMessage(err)}); using the cached copy, verified again`)
    fromCache = true
  }
  const what = fromCache ? `${url} (cached in ${cached})` : url
  const keys = sourceKeyrings(s, opts.keyringRoot)
  let verified: { body: string; signers: string[] }
  try {
    verified = await verifyClearsigned(raw, what, keys, { runner: opts.runner, tmpDir: join(cacheDir, 'tmp') })
  } catch (err) {
    if (fromCache) await unlink(cached).catch(() => undefined)
    throw err
  }
  log.debug(`apt: ${url}: signature good (${verified.signers.join(', ')})`)
  const release = parseRelease(verified.body, what)
  const warning = checkReleaseDates(release.fields, what, opts.now ?? new Date())
  if (warning !== undefined) log.warn(warning)
  const codename = release.fields.get('codename')
  const suite = release.fields.get('suite')
  if (!s.suite.endsWith('/') && (codename !== undefined || suite !== undefined) && s.suite !== codename && s.suite !== suite) {
    log.warn(`${url}: the signed file is for suite ${suite ?? '?'} (codename ${codename ?? '?'}), not "${s.suite}"`)
  }
  if (!fromCache) {
    await mkdir(dirname(cached), { recursive: true })
    const tmp = tempBeside(cached)
    await writeFile(tmp, raw)
    await commit(tmp, cached)
  }
  return release
}

function cachePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'apt', 'indexes', 'sha256', sha256)
}

/** Returns the local path of the decompressed Packages file `stem`, fetching what is missing. */
async function obtainPackages(
  base: string, stem: string, release: ReleaseInfo, opts: LoadArchiveOptions, http: HttpOptions,
): Promise<{ path: string; temporary: boolean } | undefined> {
  const { cacheDir, log } = opts
  const plain = release.sha256.get(stem)
  if (plain !== undefined) {
    const p = cachePath(cacheDir, plain.sha256)
    if (await cachedFileOk(p, { ...plain, what: `${base}${stem}` }, log)) {
      log.debug(`apt: ${base}${stem}: cached ${p}`)
      return { path: p, temporary: false }
    }
  }
  const ext = compressions.find((c) => release.sha256.has(stem + c))
  if (ext === undefined) return undefined
  const entry = release.sha256.get(stem + ext) as ReleaseEntry
  const rel = stem + ext
  const compressed = await fetchIndexFile(base, rel, entry, release, opts, http)
  if (ext === '') return { path: compressed, temporary: false }

  // Without a hash of the plain file in InRelease, the decompressed text is not cached.
  const tmp = tempBeside(plain !== undefined ? cachePath(cacheDir, plain.sha256) : compressed)
  try {
    if (ext === '.xz') {
      await decompressFile(opts.runner, 'xz', compressed, tmp, tmp)
    } else {
      await pipeline(createReadStream(compressed), createGunzip(), createWriteStream(tmp))
    }
    if (plain === undefined) return { path: tmp, temporary: true }
    const got = await hashFile(tmp)
    if (got.sha256 !== plain.sha256 || got.size !== plain.size) {
      throw new IntegrityError(
        `${base}${rel}: decompressed content does not match ${base}${stem} in InRelease: ` +
        `expected SHA256 ${plain.sha256} (${plain.size} bytes), got ${got.sha256} (${got.size} bytes)`)
    }
    const out = cachePath(cacheDir, plain.sha256)
    await commit(tmp, out)
    return { path: out, temporary: false }
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    await unlink(tmp + '.xz').catch(() => undefined)
    throw err
  }
}

/** Fetches one index file named in InRelease into the content-addressed cache. */
async function fetchIndexFile(
  base: string, rel: string, entry: ReleaseEntry, release: ReleaseInfo, opts: LoadArchiveOptions, http: HttpOptions,
): Promise<string> {
  const { cacheDir, log } = opts
  const final = cachePath(cacheDir, entry.sha256)
  const url = `${base}${rel}`
  if (await cachedFileOk(final, { ...entry, what: url }, log)) {
    log.debug(`apt: ${url}: cached ${final}`)
    return final
  }
  const urls: string[] = []
  if (release.acquireByHash) {
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : ''
    urls.push(`${base}${dir}by-hash/SHA256/${entry.sha256}`)
  }
  urls.push(url)
  log.info(`downloading ${url} (${formatSize(entry.size)})`)
  const tmp = tempBeside(final)
  for (let i = 0; i < urls.length; i++) {
    const u = urls[i] as string
    try {
      await downloadVerified(u, tmp, { ...entry, what: u === url ? undefined : url }, http)
      await commit(tmp, final)
      return final
    } catch (err) {
      // A mirror that advertises by-hash but lacks the file: fall back to the plain path.
      if (err instanceof NotFoundError && i < urls.length - 1) {
        log.debug(`apt: ${u}: not found; trying ${url}`)
        continue
      }
      throw err
    }
  }
  throw new Error(`unreachable: no URL for ${url}`)
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${bytes} B`
}
