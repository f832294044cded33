// Package folder → OCI image in the store:
//   read build.yml → [no build.lock, or --update-lock: resolve the Debian
//   packages against the verified archive, write build.lock] → hash the folder,
//   build.lock included (the tag) → [already stored? done] → fetch the pinned
//   .debs (cache first) and unpack them → copy files → run host build steps
//   → pack the tree as one reproducible layer → store config + manifest, tag.
import { createHash } from 'node:crypto'
import { chmod, copyFile, cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Transform } from 'node:stream'
import { createGzip } from 'node:zlib'
import * as apt from '../apt/index.js'
import { withAction, UserError } from '../errors/index.js'
import type { ToolRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import { mediaTypes, mobyConfigLabel, normalizeReference, type Descriptor, type ImageConfig } from '../oci/index.js'
import type { Store } from '../store/index.js'
import { packDirectory, type EntryOverride, type ExtraEntry } from '../tar/index.js'
import { hashPackageDir } from './hash.js'
import { createLock, lockDrift, lockFileName, readLock, removeLock, writeLock, type LockFile } from './lock.js'
import { readPackageSpec, type PackageSpec } from './spec.js'

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
  /** Resolve the Debian packages again and rewrite build.lock even when it exists. */
  updateLock?: boolean
  /** Show build step output as it happens. */
  verbose?: boolean
  /** Seconds since the epoch for every timestamp in the image (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number
}

export interface PackageRef {
  spec: PackageSpec
  tag: string
  /** Normalised reference, e.g. docker.io/keel/init:0123abcd... */
  ref: string
}

export interface BuildResult extends PackageRef {
  descriptor: Descriptor
  built: boolean
}

/** Reads a package folder and works out the image reference it builds. */
export async function describePackage(dir: string): Promise<PackageRef> {
  const abs = resolve(dir)
  const spec = await readPackageSpec(abs)
  await checkExtraSources(spec)
  const tag = await hashPackageDir(abs, spec.extraSources)
  return { spec, tag, ref: normalizeReference(`${spec.org}/${spec.image}:${tag}`) }
}

/** Builds the package in `dir` unless the store already has its tag. */
export async function buildPackage(dir: string, ctx: BuildContext): Promise<BuildResult> {
  const abs = resolve(dir)
  const spec = await readPackageSpec(abs)
  return withAction(`building package ${spec.image} (${dir})`, async () => {
    // The lock is settled first: it is part of the folder, so of the tag.
    const lock = await settleLock(spec, ctx)
    await checkExtraSources(spec)
    const tag = await hashPackageDir(abs, spec.extraSources)
    const pkg: PackageRef = { spec, tag, ref: normalizeReference(`${spec.org}/${spec.image}:${tag}`) }
    if (!ctx.force) {
      const existing = await ctx.store.resolve(pkg.ref)
      if (existing) {
        ctx.log.debug(`${pkg.ref} is in the store`)
        return { ...pkg, descriptor: existing, built: false }
      }
    }
    ctx.log.info(`building ${pkg.ref}`)
    const tmpRoot = join(ctx.cacheDir, 'tmp')
    await mkdir(tmpRoot, { recursive: true })
    const work = await mkdtemp(join(tmpRoot, `pkg-${pkg.spec.image}-`))
    try {
      const rootfs = join(work, 'rootfs')
      await mkdir(rootfs)
      const meta = await unpackDebianPackages(pkg.spec, lock, rootfs, ctx)
      await copyPackageFiles(pkg.spec, rootfs)
      await runBuildSteps(pkg.spec, rootfs, join(work, 'work'), ctx)
      const descriptor = await storeImage(pkg, rootfs, meta, ctx)
      return { ...pkg, descriptor, built: true }
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
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

async function unpackDebianPackages(spec: PackageSpec, lock: LockFile | undefined, rootfs: string, ctx: BuildContext): Promise<UnpackMeta> {
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
    const entries = await withAction(`unpacking ${lock.packages[i]!.name}`, () => apt.extractDeb(deb, rootfs, { runner: ctx.runner }))
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

async function runBuildSteps(spec: PackageSpec, rootfs: string, workDir: string, ctx: BuildContext): Promise<void> {
  if (spec.build.length === 0) return
  await mkdir(workDir, { recursive: true })
  const context = await buildContext(spec, workDir)
  for (const [i, step] of spec.build.entries()) {
    ctx.log.info(`${spec.image}: build step ${i + 1}/${spec.build.length}: ${step}`)
    await withAction(`${join(spec.dir, 'build.yml')}: build step ${i + 1} (${step})`, () =>
      ctx.runner.run('sh', ['-ec', step], {
        cwd: context,
        inherit: ctx.verbose === true,
        env: {
          KEEL_ROOTFS: rootfs,
          KEEL_WORK: workDir,
          KEEL_PKG_DIR: context,
          SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch ?? 0),
        },
      }))
  }
}

async function storeImage(pkg: PackageRef, rootfs: string, meta: UnpackMeta, ctx: BuildContext): Promise<Descriptor> {
  const mtime = ctx.sourceDateEpoch ?? 0
  const diffHash = createHash('sha256')
  const hashTar = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diffHash.update(chunk)
      cb(null, chunk)
    },
  })
  const tarStream = packDirectory(rootfs, { mtime, overrides: meta.overrides, extras: meta.extras })
  const gz = createGzip({ level: 6 })
  const stored = ctx.store.putBlobStream((tarStream as unknown as NodeJS.ReadableStream).pipe(hashTar).pipe(gz))
  tarStream.on('error', (err: Error) => gz.destroy(err))
  const layerBlob = await stored
  const layer: Descriptor = { mediaType: mediaTypes.ociLayerGzip, ...layerBlob }
  const labels: Record<string, string> = {}
  if (pkg.spec.config !== undefined) labels[mobyConfigLabel] = JSON.stringify(pkg.spec.config)
  if (meta.packages.length > 0) labels[debianPackagesLabel] = JSON.stringify(meta.packages)
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: Object.keys(labels).length > 0 ? { Labels: labels } : {},
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffHash.digest('hex')}`] },
  }
  return ctx.store.putImage(pkg.ref, config, [layer], { 'org.opencontainers.image.ref.name': pkg.ref, 'dev.keel.package.tag': pkg.tag })
}
