// Package folder → OCI image in the store:
//   read build.yml → [no build.lock, or --update-lock: resolve the Debian
//   packages against the verified archive, write build.lock] → hash the folder,
//   build.lock and --build-arg overrides included (the tag) → [already stored?
//   done] → [a registry configured? pull that exact tag; found: done] → fetch
//   the pinned .debs (cache first) and unpack them → copy files → run host
//   build steps → pack the tree as one reproducible layer → store config +
//   manifest, tag → [--push: push the tag to the registry].
// Decompressed data.tars and gzip'd layers come from the step cache when
// their inputs were seen before (step-cache.ts); the build steps always run,
// their C compiles through ccache when the host has it (compile-cache.ts).
import { readFileSync } from 'node:fs'
import { chmod, copyFile, cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import * as apt from '../apt/index.js'
import { errorMessage, withAction, IntegrityError, UserError } from '../errors/index.js'
import type { ToolRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import { mediaTypes, mobyConfigLabel, normalizeReference, type Descriptor, type ImageConfig } from '../oci/index.js'
import { RegistryNotFoundError, type RegistryClient } from '../registry/index.js'
import { pullImage, pushImage, type Store } from '../store/index.js'
import { packDirectory, type EntryOverride, type ExtraEntry } from '../tar/index.js'
import { hashPackageDir } from './hash.js'
import { compileCache, readStats } from './compile-cache.js'
import { createTreeDir, type TreeDir } from './scratch.js'
import { storeLayer } from './layer.js'
import { createLock, lockDrift, lockFileName, readLock, removeLock, writeLock, type LockFile } from './lock.js'
import { expandTagTemplate, readPackageSpec, type PackageSpec } from './spec.js'
import { StepCache, stepCacheDir, verifyBlob } from './step-cache.js'

export interface ArchiveOptions {
  /** Archive sources; default: the host's apt configuration. */
  sources?: apt.AptSource[]
  /** The clock InRelease dates are checked against (tests). */
  now?: Date
  /** Root of apt's keyrings for sources without Signed-By (default '/'; tests). */
  keyringRoot?: string
  /** Base delay between HTTP retries in ms (tests). */
  retryDelayMs?: number
}

export interface BuildContext {
  store: Store
  cacheDir: string
  runner: ToolRunner
  log: Logger
  archive?: ArchiveOptions
  /** Rebuild even when the store has the tag. */
  force?: boolean
  /**
   * Use and fill the step cache (decompressed data.tars, gzip'd layers; see
   * step-cache.ts) and the compile cache (ccache, compile-cache.ts). Default
   * true; false: every step is done from scratch and nothing is recorded.
   */
  stepCache?: boolean
  /**
   * The tmpfs the unpacked tree (KEEL_ROOTFS) goes to when it has room
   * (default /dev/shm; see scratch.ts); false: always on disk, beside
   * KEEL_WORK.
   */
  tmpfs?: string | false
  /** Resolve the Debian packages again and rewrite build.lock even when it exists. */
  updateLock?: boolean
  /** Show build step output as it happens. */
  verbose?: boolean
  /** Seconds since the epoch for every timestamp in the image (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number
  /** --build-arg: NAME → VALUE over build.yml's buildArgs; part of the tag. */
  buildArgs?: ReadonlyMap<string, string>
  /**
   * The client for package images' registry: with one, a tag the store
   * lacks is pulled from the registry (when one is configured, see
   * registryReference) before anything is built.
   */
  registry?: RegistryClient
  /** --registry HOST[/PATH]: the registry package images are pushed to and pulled from. */
  packageRegistry?: string
  /** Push each package image to its registry once it is in the store. */
  push?: boolean
}

export interface PackageRef {
  spec: PackageSpec
  tag: string
  /** Normalised reference, e.g. docker.io/keel/init:0123abcd... */
  ref: string
  /** build.yml's buildArgs with the --build-arg overrides: the build steps' environment. */
  buildArgs: Map<string, string>
}

export interface BuildResult extends PackageRef {
  descriptor: Descriptor
  built: boolean
  /** The registry reference the image was pulled from, when it was. */
  pulledFrom?: string
  /** The registry reference it was pushed to, with ctx.push. */
  pushedTo?: string
}

/** Reads a package folder and works out the image reference it builds. */
export async function describePackage(dir: string, options: { buildArgs?: ReadonlyMap<string, string> } = {}): Promise<PackageRef> {
  const spec = await readPackageSpec(resolve(dir))
  return referenceOf(spec, options.buildArgs)
}

async function referenceOf(spec: PackageSpec, overrides: ReadonlyMap<string, string> = new Map()): Promise<PackageRef> {
  await checkExtraSources(spec)
  const changed = new Map([...overrides].filter(([name, value]) => spec.buildArgs.get(name) !== value))
  const tag = expandTagTemplate(spec.tagTemplate, await hashPackageDir(spec.dir, spec.extraSources, changed))
  return { spec, tag, ref: normalizeReference(`${spec.org}/${spec.image}:${tag}`), buildArgs: new Map([...spec.buildArgs, ...overrides]) }
}

/** Whether the first part of an org (or --registry) names a registry host: a dot, a port, or localhost, as in Docker's references. */
function startsWithHost(name: string): boolean {
  const first = name.split('/')[0]!
  return first.includes('.') || first.includes(':') || first === 'localhost'
}

/** What is wrong with a --registry value, or undefined. */
export function checkPackageRegistry(raw: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(raw)) return `${JSON.stringify(raw)}: give HOST[:PORT][/PATH] without a scheme (plain HTTP is for localhost and --insecure-registry)`
  if (!startsWithHost(raw)) return `${JSON.stringify(raw)} does not start with a registry host (a name with a dot or a port, or localhost)`
  try {
    normalizeReference(`${raw.replace(/\/+$/, '')}/x:y`)
  } catch (err) {
    return `${JSON.stringify(raw)} is not a valid registry prefix: ${errorMessage(err)}`
  }
  return undefined
}

/**
 * Where a package image lives in a registry, or undefined when none is
 * configured: with `prefix` (--registry HOST[/PATH]), PREFIX/ORG/IMAGE:TAG,
 * ORG less any registry host it starts with; else, when org starts with a
 * registry host (127.0.0.1:5000/keel), the image's own reference.
 */
export function registryReference(pkg: Pick<PackageRef, 'spec' | 'tag'>, prefix?: string): string | undefined {
  const { org, image } = pkg.spec
  const orgHasHost = startsWithHost(org)
  if (prefix !== undefined) {
    const path = orgHasHost ? org.split('/').slice(1).join('/') : org
    return normalizeReference(`${prefix.replace(/\/+$/, '')}/${path === '' ? '' : `${path}/`}${image}:${pkg.tag}`)
  }
  return orgHasHost ? normalizeReference(`${org}/${image}:${pkg.tag}`) : undefined
}

/** Builds the package in `dir` unless the store already has its tag. */
export async function buildPackage(dir: string, ctx: BuildContext): Promise<BuildResult> {
  const abs = resolve(dir)
  const spec = await readPackageSpec(abs)
  return withAction(`building package ${spec.image} (${dir})`, async () => {
    // The lock is settled first: it is part of the folder, so of the tag.
    const lock = await settleLock(spec, ctx)
    const pkg = await referenceOf(spec, ctx.buildArgs)
    const remote = registryReference(pkg, ctx.packageRegistry)
    let result: BuildResult | undefined
    if (!ctx.force) {
      const existing = await ctx.store.resolve(pkg.ref)
      if (existing) {
        ctx.log.debug(`${pkg.ref} is in the store`)
        result = { ...pkg, descriptor: existing, built: false }
      } else if (remote !== undefined && ctx.registry !== undefined) {
        const pulled = await pullPackage(pkg, remote, ctx.registry, ctx)
        if (pulled) return { ...pkg, descriptor: pulled, built: false, pulledFrom: remote }
      }
    }
    result ??= await buildInStore(pkg, lock, ctx)
    if (ctx.push) {
      const target = remote ?? pkg.ref
      if (!ctx.registry) throw new UserError(`cannot push ${pkg.ref}: no registry client`)
      await pushImage(ctx.store, pkg.ref, target, { client: ctx.registry, log: ctx.log })
      result.pushedTo = target
    }
    return result
  })
}

/**
 * Pulls exactly `remote` into the store and tags it as the package's own
 * reference. A registry that does not have it (HTTP 404) means "build it";
 * a registry that cannot be reached or refuses us is a warning, and the
 * package is built here (a content-hash tag builds the same anywhere); an
 * image that fails its digest checks is an error.
 */
async function pullPackage(pkg: PackageRef, remote: string, client: RegistryClient, ctx: BuildContext): Promise<Descriptor | undefined> {
  try {
    const r = await pullImage(ctx.store, remote, { client, log: ctx.log, platform: { os: 'linux', architecture: 'amd64' } })
    if (r.ref !== pkg.ref) await ctx.store.tag(pkg.ref, r.descriptor)
    if (r.pulled) ctx.log.info(`${pkg.spec.image}: pulled ${remote} instead of building it`)
    return r.descriptor
  } catch (err) {
    if (err instanceof RegistryNotFoundError) {
      ctx.log.info(`${pkg.spec.image}: ${remote} is not in the registry yet: building it`)
      return undefined
    }
    if (err instanceof IntegrityError) throw err
    ctx.log.warn(`${pkg.spec.image}: could not pull ${remote}, building it here instead: ${errorMessage(err)}`)
    return undefined
  }
}

async function buildInStore(pkg: PackageRef, lock: LockFile | undefined, ctx: BuildContext): Promise<BuildResult> {
  {
    ctx.log.info(`building ${pkg.ref}`)
    const tmpRoot = join(ctx.cacheDir, 'tmp')
    await mkdir(tmpRoot, { recursive: true })
    const work = await mkdtemp(join(tmpRoot, `pkg-${pkg.spec.image}-`))
    let tree: TreeDir | undefined
    try {
      tree = await createTreeDir(work, pkg.spec.image, ctx.tmpfs === undefined ? {} : { tmpfs: ctx.tmpfs })
      const rootfs = tree.path
      ctx.log.debug(`${pkg.spec.image}: unpacking into ${rootfs}${tree.onTmpfs ? ' (a tmpfs)' : ''}`)
      const cache = ctx.stepCache === false ? undefined : new StepCache(stepCacheDir(ctx.cacheDir), ctx.store, ctx.log)
      // Each phase's time, for --debug (and bench/pkg's breakdown). The CPU
      // time is the whole process's and its children's: the phase's own
      // only when one package builds at a time (-j 1).
      let mark = performance.now()
      let cpuMark = processCpuSeconds()
      const lap = (what: string): void => {
        const now = performance.now()
        const cpu = processCpuSeconds()
        const cpuText = cpu === undefined || cpuMark === undefined ? '' : `, cpu ${(cpu - cpuMark).toFixed(2)} s`
        ctx.log.debug(`${pkg.spec.image}: ${what} in ${((now - mark) / 1000).toFixed(2)} s${cpuText}`)
        mark = now
        cpuMark = cpu
      }
      const meta = await unpackDebianPackages(pkg.spec, lock, rootfs, work, ctx, cache)
      lap('Debian packages unpacked')
      await copyPackageFiles(pkg.spec, rootfs)
      await runBuildSteps(pkg, rootfs, join(work, 'work'), ctx)
      lap('files copied and build steps run')
      const descriptor = await storeImage(pkg, rootfs, meta, work, ctx, cache)
      lap('layer packed and stored')
      if (cache !== undefined) ctx.log.debug(`${pkg.spec.image}: step cache: ${cache.summary() || 'not used'}`)
      return { ...pkg, descriptor, built: true }
    } finally {
      await tree?.dispose()
      await rm(work, { recursive: true, force: true })
    }
  }
}

/**
 * The pins to build from: the folder's build.lock when it matches build.yml,
 * else (no lock yet, or --update-lock) a fresh resolution against the
 * verified archive, written to build.lock. A lock that no longer matches
 * build.yml's package list is an error, not silently re-resolved.
 */
async function settleLock(spec: PackageSpec, ctx: BuildContext): Promise<LockFile | undefined> {
  const file = join(spec.dir, lockFileName)
  const request = { packages: spec.packages, exclude: spec.exclude }
  const existing = ctx.updateLock ? undefined : await readLock(spec.dir)
  if (spec.packages.length === 0) {
    if (existing !== undefined) {
      throw new UserError(`${file} pins Debian packages, but ${join(spec.dir, 'build.yml')} lists none`, {
        hint: `delete it, or run: keel pkg build --update-lock ${spec.dir}`,
      })
    }
    if (ctx.updateLock) await removeLock(spec.dir)
    return undefined
  }
  if (existing !== undefined) {
    const drift = lockDrift(request, existing)
    if (drift.length > 0) {
      throw new UserError(`${file} does not match ${join(spec.dir, 'build.yml')}: ${drift.join('; ')}`, {
        hint: `resolve the packages again and rewrite the lock: keel pkg build --update-lock ${spec.dir}`,
      })
    }
    ctx.log.debug(`${file}: ${existing.packages.length} pinned package(s)`)
    return existing
  }
  const sources = archiveSources(ctx)
  const index = await withAction('reading the Debian archive index', () =>
    apt.loadArchiveIndex({
      sources, arch: 'amd64', cacheDir: ctx.cacheDir, runner: ctx.runner, log: ctx.log,
      ...(ctx.archive?.now ? { now: ctx.archive.now } : {}),
      ...(ctx.archive?.keyringRoot ? { keyringRoot: ctx.archive.keyringRoot } : {}),
      ...(ctx.archive?.retryDelayMs === undefined ? {} : { retryDelayMs: ctx.archive.retryDelayMs }),
    }))
  const selected = apt.resolvePackages(index, spec.packages, { exclude: spec.exclude })
  const lock = createLock('amd64', request, selected, sources)
  const written = await writeLock(spec.dir, lock)
  ctx.log.info(`${spec.image}: ${written ? 'wrote' : 'unchanged:'} ${file} (${lock.packages.length} package(s))`)
  return lock
}

function archiveSources(ctx: BuildContext): apt.AptSource[] {
  const sources = ctx.archive?.sources ?? apt.readHostSources()
  if (sources.length === 0) throw new UserError('no Debian archive configured', { hint: 'add a deb source to /etc/apt or pass --mirror URL' })
  return sources
}

/** Image label listing the Debian packages a package image was built from (for the SBOM). */
export const debianPackagesLabel = 'dev.keel.debian-packages'

interface UnpackMeta {
  overrides: Map<string, EntryOverride>
  extras: ExtraEntry[]
  packages: Array<{ name: string; version: string; architecture: string; source: string; sourceVersion: string }>
}

/**
 * CPU seconds (user + system) of this process and the children it has
 * waited for, from /proc/self/stat; undefined where that cannot be read.
 */
function processCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14-17 of proc(5): utime stime cutime cstime, in clock ticks (100 a second on Linux).
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100
  } catch {
    return undefined
  }
}

async function unpackDebianPackages(
  spec: PackageSpec, lock: LockFile | undefined, rootfs: string, work: string, ctx: BuildContext, cache: StepCache | undefined,
): Promise<UnpackMeta> {
  const meta: UnpackMeta = { overrides: new Map(), extras: [], packages: [] }
  if (lock === undefined || lock.packages.length === 0) return meta
  const file = join(spec.dir, lockFileName)
  meta.packages = lock.packages.map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, source: p.sourcePackage, sourceVersion: p.sourceVersion }))
  ctx.log.info(`${spec.image}: ${lock.packages.length} Debian package(s): ${lock.packages.map((p) => `${p.name}=${p.version}`).join(' ')}`)
  // Where to fetch a pinned file that is not cached: the configured archive
  // for its suite first (a --mirror, a local mirror), then the one it was
  // locked from. The pinned SHA256 decides, whichever answers.
  let configured: apt.AptSource[] | undefined
  const roots = (p: LockFile['packages'][number]): string[] => {
    configured ??= ctx.archive?.sources ?? apt.readHostSources()
    return [...configured.filter((s) => s.suite === p.suite).map((s) => s.uri), p.uri]
  }
  const fetchOpts = {
    cacheDir: ctx.cacheDir, log: ctx.log, pinnedBy: file,
    ...(ctx.archive?.retryDelayMs === undefined ? {} : { retryDelayMs: ctx.archive.retryDelayMs }),
  }
  const debs = await Promise.all(lock.packages.map((p) => apt.fetchPinnedDeb(p, () => roots(p), fetchOpts)))
  for (const [i, deb] of debs.entries()) {
    const pin = lock.packages[i]!
    const entries = await withAction(`unpacking ${pin.name}`, () => unpackDeb(deb, pin.sha256, rootfs, work, ctx, cache))
    for (const e of entries) {
      if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') {
        meta.extras.push({ path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 })
      } else if (e.uid !== 0 || e.gid !== 0) {
        meta.overrides.set(e.path, { uid: e.uid, gid: e.gid })
      } else {
        meta.overrides.delete(e.path)
      }
    }
  }
  return meta
}

/**
 * Unpacks one .deb into the tree. With the step cache, its decompressed
 * data.tar comes from the store when this exact .deb was unpacked before
 * (checked against its digest first), else it is decompressed into the
 * store for next time. The tar is unpacked by the same code either way.
 */
async function unpackDeb(deb: string, sha256: string, rootfs: string, work: string, ctx: BuildContext, cache: StepCache | undefined): Promise<apt.ExtractedEntry[]> {
  if (cache === undefined) return apt.extractDeb(deb, rootfs, { runner: ctx.runner })
  const data = await apt.findDebData(deb)
  // An uncompressed or gzip'd data member is read directly: nothing to save.
  if (data.compression === '' || data.compression === '.gz') return apt.extractDeb(deb, rootfs, { runner: ctx.runner })
  const inputs = { deb: sha256, member: data.member.name, extractor: apt.extractorVersion }
  let blob = await cache.reuse('deb-data', inputs, async (found) => {
    if (await verifyBlob(ctx.store, found)) return undefined
    await ctx.store.deleteBlob(found.digest)
    return 'does not match its digest'
  })
  if (blob === undefined) {
    const tmp = await mkdtemp(join(work, 'deb-'))
    try {
      const tar = join(tmp, 'data.tar')
      await apt.writeDebDataTar(deb, data, tar, { runner: ctx.runner })
      blob = await ctx.store.putBlobFile(tar)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    await cache.record('deb-data', inputs, blob)
  }
  return apt.unpackDataTar(ctx.store.openBlob(blob.digest), rootfs, deb)
}

async function copyPackageFiles(spec: PackageSpec, rootfs: string): Promise<void> {
  for (const f of spec.files) {
    const target = join(rootfs, f.path)
    await mkdir(dirname(target), { recursive: true })
    await rm(target, { force: true })
    if (f.source !== undefined) {
      await withAction(`copying ${f.source} to ${f.path}`, () => copyFile(join(spec.dir, f.source!), target))
    } else {
      await writeFile(target, f.contents ?? '')
    }
    if (f.mode !== undefined) await chmod(target, f.mode)
  }
}

/** Each extra source must be a folder; refused with the build.yml entry that names it. */
async function checkExtraSources(spec: PackageSpec): Promise<void> {
  for (const x of spec.extraSources) {
    const st = await stat(x.source).catch(() => undefined)
    if (!st?.isDirectory()) throw new UserError(`${join(spec.dir, 'build.yml')}: extra-sources: ${x.source} is not a folder`)
  }
}

/**
 * The folder the build steps run in: the package folder itself, or, with
 * extra sources, a copy of it with each extra source copied in at its
 * destination (as LinuxKit's build context).
 */
async function buildContext(spec: PackageSpec, workDir: string): Promise<string> {
  if (spec.extraSources.length === 0) return spec.dir
  const context = join(dirname(workDir), 'context')
  await cp(spec.dir, context, { recursive: true, verbatimSymlinks: true, filter: (src) => basename(src) !== '.git' })
  for (const x of spec.extraSources) {
    const dest = join(context, x.dest)
    await rm(dest, { recursive: true, force: true })
    await cp(x.source, dest, { recursive: true, verbatimSymlinks: true, filter: (src) => basename(src) !== '.git' })
  }
  return context
}

async function runBuildSteps(pkg: PackageRef, rootfs: string, workDir: string, ctx: BuildContext): Promise<void> {
  const { spec } = pkg
  if (spec.build.length === 0) return
  await mkdir(workDir, { recursive: true })
  const context = await buildContext(spec, workDir)
  // The build's scratch root (context copy, KEEL_WORK, the tree unless on tmpfs).
  const compiles = ctx.stepCache === false ? undefined : await compileCache(ctx.cacheDir, dirname(workDir))
  if (compiles === undefined && ctx.stepCache !== false) ctx.log.debug(`${spec.image}: build steps compile without a cache (no ccache on PATH)`)
  for (const [i, step] of spec.build.entries()) {
    ctx.log.info(`${spec.image}: build step ${i + 1}/${spec.build.length}: ${step}`)
    await withAction(`${join(spec.dir, 'build.yml')}: build step ${i + 1} (${step})`, () =>
      ctx.runner.run('sh', ['-ec', step], {
        cwd: context,
        inherit: ctx.verbose === true,
        env: {
          ...Object.fromEntries(pkg.buildArgs),
          KEEL_ROOTFS: rootfs,
          KEEL_WORK: workDir,
          KEEL_PKG_DIR: context,
          SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch ?? 0),
          ...compiles?.env,
        },
      }))
  }
  if (compiles !== undefined) {
    const { hits, misses } = await readStats(compiles.statsLog)
    ctx.log.debug(`${spec.image}: compile cache (ccache): ${hits} hits, ${misses} misses`)
  }
}

async function storeImage(pkg: PackageRef, rootfs: string, meta: UnpackMeta, work: string, ctx: BuildContext, cache: StepCache | undefined): Promise<Descriptor> {
  const mtime = ctx.sourceDateEpoch ?? 0
  const tarStream = packDirectory(rootfs, { mtime, overrides: meta.overrides, extras: meta.extras })
  const { blob: layerBlob, diffId } = await storeLayer(tarStream as unknown as AsyncIterable<Buffer>, { store: ctx.store, tmpDir: work, ...(cache ? { cache } : {}) })
  const layer: Descriptor = { mediaType: mediaTypes.ociLayerGzip, ...layerBlob }
  const labels: Record<string, string> = {}
  if (pkg.spec.config !== undefined) labels[mobyConfigLabel] = JSON.stringify(pkg.spec.config)
  if (meta.packages.length > 0) labels[debianPackagesLabel] = JSON.stringify(meta.packages)
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: Object.keys(labels).length > 0 ? { Labels: labels } : {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }
  return ctx.store.putImage(pkg.ref, config, [layer], { 'org.opencontainers.image.ref.name': pkg.ref, 'dev.keel.package.tag': pkg.tag })
}
