// Package folder → OCI image in the store:
//   read build.yml → hash the folder (the tag) → [already stored? done]
//   → fetch and unpack Debian packages → copy files → run host build steps
//   → pack the tree as one reproducible layer → store config + manifest, tag.
import { createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
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
import { readPackageSpec, type PackageSpec } from './spec.js'

export interface ArchiveOptions {
  /** Archive sources; default: the host's apt configuration. */
  sources?: apt.AptSource[]
}

export interface BuildContext {
  store: Store
  cacheDir: string
  runner: ToolRunner
  log: Logger
  archive?: ArchiveOptions
  /** Rebuild even when the store has the tag. */
  force?: boolean
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
  const tag = await hashPackageDir(abs)
  return { spec, tag, ref: normalizeReference(`${spec.org}/${spec.image}:${tag}`) }
}

/** Builds the package in `dir` unless the store already has its tag. */
export async function buildPackage(dir: string, ctx: BuildContext): Promise<BuildResult> {
  const pkg = await describePackage(dir)
  return withAction(`building package ${pkg.spec.image} (${dir})`, async () => {
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
      const meta = await unpackDebianPackages(pkg.spec, rootfs, ctx)
      await copyPackageFiles(pkg.spec, rootfs)
      await runBuildSteps(pkg.spec, rootfs, join(work, 'work'), ctx)
      const descriptor = await storeImage(pkg, rootfs, meta, ctx)
      return { ...pkg, descriptor, built: true }
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
}

/** Image label listing the Debian packages a package image was built from (for the SBOM). */
export const debianPackagesLabel = 'dev.keel.debian-packages'

interface UnpackMeta {
  overrides: Map<string, EntryOverride>
  extras: ExtraEntry[]
  packages: Array<{ name: string; version: string; architecture: string; source: string; sourceVersion: string }>
}

async function unpackDebianPackages(spec: PackageSpec, rootfs: string, ctx: BuildContext): Promise<UnpackMeta> {
  const meta: UnpackMeta = { overrides: new Map(), extras: [], packages: [] }
  if (spec.packages.length === 0) return meta
  const sources = ctx.archive?.sources ?? apt.readHostSources()
  if (sources.length === 0) throw new UserError('no Debian archive configured', { hint: 'add a deb source to /etc/apt or pass --mirror URL' })
  const index = await withAction('reading the Debian archive index', () =>
    apt.loadArchiveIndex({ sources, arch: 'amd64', cacheDir: ctx.cacheDir, runner: ctx.runner, log: ctx.log }))
  const selected = apt.resolvePackages(index, spec.packages, { exclude: spec.exclude })
  meta.packages = selected.map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, source: p.source, sourceVersion: p.sourceVersion }))
  ctx.log.info(`${spec.image}: ${selected.length} Debian package(s): ${selected.map((p) => `${p.name}=${p.version}`).join(' ')}`)
  const debs = await Promise.all(selected.map((p) => apt.fetchDeb(p, { cacheDir: ctx.cacheDir, log: ctx.log })))
  for (const [i, deb] of debs.entries()) {
    const entries = await withAction(`unpacking ${selected[i]!.name}`, () => apt.extractDeb(deb, rootfs, { runner: ctx.runner }))
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

async function runBuildSteps(spec: PackageSpec, rootfs: string, workDir: string, ctx: BuildContext): Promise<void> {
  if (spec.build.length === 0) return
  await mkdir(workDir, { recursive: true })
  for (const [i, step] of spec.build.entries()) {
    ctx.log.info(`${spec.image}: build step ${i + 1}/${spec.build.length}: ${step}`)
    await withAction(`${join(spec.dir, 'build.yml')}: build step ${i + 1} (${step})`, () =>
      ctx.runner.run('sh', ['-ec', step], {
        cwd: spec.dir,
        inherit: ctx.verbose === true,
        env: {
          KEEL_ROOTFS: rootfs,
          KEEL_WORK: workDir,
          KEEL_PKG_DIR: spec.dir,
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
