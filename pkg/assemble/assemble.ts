// Manifest + its images → the whole root filesystem, laid out as LinuxKit lays
// it out:
//   boot/kernel, boot/cmdline[, boot/ucode.cpio]   from the kernel image
//   lib/modules/...                                from the kernel image's kernel.tar
//   everything in the init images                  at /
//   containers/onboot/NNN-name/{config.json,runtime.json,rootfs/ or lower/}
//   containers/onshutdown/NNN-name/...
//   containers/services/name/...
//   the files: section, last, so it wins.
// An image used by several containers is unpacked once, by the first; the
// others mount it (runtime.json): read-only roots with a bind mount, writable
// ones with an overlay whose upper layer is a tmpfs.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { Readable } from 'node:stream'
import { stringify as toYaml } from 'yaml'
import { UserError } from '../errors/index.js'
import {
  applyLayer, externalContent, flattenImage, FsTree, memoryContent, normalizeEntryPath, readContent,
  type ContentStore, type Flattened,
} from '../layers/index.js'
import { manifestData, type FileEntry, type ImageEntry, type Manifest, type Section } from '../manifest/index.js'
import type { ImageSource } from '../oci/index.js'
import { configJson, generateConfig, rootfsMounts, runtimeJson } from './oci-config.js'
import { prepareImageFiles } from './image-files.js'

export interface AssembleInput {
  manifest: Manifest
  /** Every image the manifest names, by the image string as it appears in the manifest. */
  images: ReadonlyMap<string, ImageSource>
  /** Where file contents are kept while the output is written. */
  content: ContentStore
  /** Read a `files:` source (default: from disk, `~/` expanded). */
  readSource?: (path: string) => Promise<Buffer | undefined>
  /** Files to keep the bytes of from every image (package databases for the SBOM). */
  capture?: (path: string, size: number) => boolean
}

/** One image as used in the build: for the SBOM. */
export interface UsedImage {
  role: string
  source: ImageSource
  /** Captured files of the image (see AssembleInput.capture). */
  captured: Map<string, Buffer>
}

export interface Assembled {
  tree: FsTree
  images: UsedImage[]
}

export async function assembleTree(input: AssembleInput): Promise<Assembled> {
  const { manifest } = input
  const tree = new FsTree()
  const used: UsedImage[] = []
  const image = (name: string, where: string): ImageSource => {
    const src = input.images.get(name)
    if (!src) throw new UserError(`${where}: image ${name} was not resolved`)
    return src
  }
  // Each image is read once, however many times the manifest uses it.
  const flattened = new Map<string, Promise<Flattened>>()
  const flatten = async (src: ImageSource, role: string): Promise<FsTree> => {
    let f = flattened.get(src.digest)
    if (!f) {
      f = flattenImage(src, input.content, input.capture ? { capture: input.capture } : {})
      flattened.set(src.digest, f)
    }
    const done = await f
    used.push({ role, source: src, captured: done.captured })
    return done.tree
  }

  if (manifest.kernel?.image) {
    const src = image(manifest.kernel.image, 'kernel')
    await addKernel(tree, await flatten(src, 'kernel'), manifest.kernel, `kernel image ${src.ref} (${src.digest})`, input.content)
  }

  for (const [i, name] of manifest.init.entries()) {
    const src = image(name, `init[${i}]`)
    const where = `init[${i}] ${src.ref}`
    const itree = copyTree(await flatten(src, `init[${i}]`))
    prepareImageFiles(itree, { resolvSymlink: true }, where)
    tree.graft(itree, '', where)
  }

  await addVolumes(tree, manifest, image, (src, role) => flatten(src, role))

  const idMap = new Map<string, number>()
  let nextId = 100
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    for (const e of manifest[section]) idMap.set(e.name, nextId++)
  }

  const placed = new Map<string, string>()
  for (const section of ['onboot', 'onshutdown', 'services'] as const satisfies readonly Section[]) {
    for (const [i, entry] of manifest[section].entries()) {
      const where = `${section}[${i}] ${entry.name}`
      const src = image(entry.image, where)
      const prefix = section === 'services'
        ? `containers/services/${entry.name}`
        : `containers/${section}/${String(i).padStart(3, '0')}-${entry.name}`
      const withVolumes = bindVolumes(entry, manifest, where)
      await addContainer(tree, prefix, withVolumes, src, () => flatten(src, where), placed, idMap, `${where} (${src.ref})`)
    }
  }

  await addFiles(tree, manifest, idMap, input.readSource ?? readSourceFromDisk, input.images)
  return { tree, images: used }
}

/** Where LinuxKit (and keel's init) keep volumes: NAME/lower, NAME/tmp, NAME/merged. */
export const volumesDir = 'containers/volumes'

/**
 * Volumes: an image's files (or, with format oci, an OCI image layout of it)
 * in containers/volumes/NAME/lower, with tmp/ and merged/ beside it; init
 * mounts an overlay on merged/ at boot (read-only when there is no tmp/).
 */
async function addVolumes(
  tree: FsTree, manifest: Manifest, image: (name: string, where: string) => ImageSource,
  flatten: (src: ImageSource, role: string) => Promise<FsTree>,
): Promise<void> {
  const dir = { type: 'directory' as const, mode: 0o755, uid: 0, gid: 0 }
  for (const [i, v] of manifest.volumes.entries()) {
    const where = `volumes[${i}] ${v.name}`
    const base = `${volumesDir}/${v.name}`
    tree.set({ path: `${base}/lower`, ...dir }, where)
    tree.set({ path: `${base}/merged`, ...dir }, where)
    // keel: a read-only volume gets no tmp/ (LinuxKit writes it always, which makes every volume writable).
    if (!v.readonly) tree.set({ path: `${base}/tmp`, ...dir }, where)
    if (!v.image) continue
    const src = image(v.image, where)
    if ((v.format ?? 'filesystem') === 'filesystem') {
      const vtree = copyTree(await flatten(src, where))
      prepareImageFiles(vtree, { resolvSymlink: true }, where)
      tree.graft(vtree, `${base}/lower`, where)
    } else {
      await flatten(src, where) // recorded for the SBOM
      addOciLayout(tree, `${base}/lower`, src, where)
    }
  }
}

/** An OCI image layout of one image, its blobs read from the store when the output is written. */
function addOciLayout(tree: FsTree, at: string, src: ImageSource, where: string): void {
  if (!src.manifestBytes || !src.configBytes) throw new UserError(`${where}: image ${src.ref} cannot be copied as an OCI layout from where it came`)
  const file = (path: string, data: Buffer | string): void => {
    tree.set({ path: `${at}/${path}`, type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(typeof data === 'string' ? Buffer.from(data) : data) }, where)
  }
  const blob = (digest: string): string => `blobs/${digest.replace(':', '/')}`
  file('oci-layout', '{"imageLayoutVersion":"1.0.0"}')
  const manifest = JSON.parse(src.manifestBytes.toString('utf8')) as { config: { digest: string }; mediaType?: string }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      digest: src.digest,
      size: src.manifestBytes.length,
      platform: { architecture: src.config.architecture, os: src.config.os },
      annotations: { 'org.opencontainers.image.ref.name': src.ref },
    }],
  }
  file('index.json', JSON.stringify(index))
  file(blob(src.digest), src.manifestBytes)
  file(blob(manifest.config.digest), src.configBytes)
  for (const l of src.layers) {
    tree.set({
      path: `${at}/${blob(l.descriptor.digest)}`, type: 'file', mode: 0o644, uid: 0, gid: 0,
      content: externalContent(l.descriptor.size, () => l.open() as AsyncIterable<Buffer>),
    }, where)
  }
}

/**
 * LinuxKit's volume binds: a bind whose source is not an absolute path names
 * a volume, and is rewritten to the volume's merged folder; writing into a
 * read-only volume is refused.
 */
function bindVolumes(entry: ImageEntry, manifest: Manifest, where: string): ImageEntry {
  const volume = (name: string, what: string): { merged: string; readonly: boolean } => {
    const v = manifest.volumes.find((x) => x.name === name)
    if (!v) throw new UserError(`${where}: ${what}: no volume named ${JSON.stringify(name)}`)
    return { merged: `/${volumesDir}/${name}/merged`, readonly: v.readonly === true }
  }
  const out: ImageEntry = { ...entry }
  for (const key of ['binds', 'binds.add'] as const) {
    const list = entry[key]
    if (!Array.isArray(list)) continue
    out[key] = list.map((b: string) => {
      const parts = b.split(':')
      if (parts[0]!.startsWith('/')) return b
      const v = volume(parts[0]!, `${key} ${JSON.stringify(b)}`)
      if (v.readonly && parts[2] !== 'ro') throw new UserError(`${where}: ${key} ${JSON.stringify(b)}: volume ${parts[0]} is read-only; bind it with ":ro"`)
      return [v.merged, ...parts.slice(1)].join(':')
    })
  }
  if (Array.isArray(entry['mounts'])) {
    out['mounts'] = (entry['mounts'] as Array<Record<string, unknown>>).map((m) => {
      if (m['type'] !== 'bind' || typeof m['source'] !== 'string' || m['source'].startsWith('/')) return m
      const v = volume(m['source'], `mount of ${JSON.stringify(m['source'])}`)
      const opts = Array.isArray(m['options']) ? (m['options'] as string[]) : []
      if (v.readonly) {
        const flag = opts.find((o) => o === 'ro' || o === 'rw')
        if (flag !== 'ro') throw new UserError(`${where}: mount of volume ${m['source']}: the volume is read-only; add the "ro" option`)
      }
      return { ...m, source: v.merged }
    })
  }
  return out
}

function copyTree(t: FsTree): FsTree {
  const out = new FsTree()
  out.graft(t, '', 'copy')
  return out
}

async function addKernel(tree: FsTree, ktree: FsTree, spec: NonNullable<Manifest['kernel']>, where: string, content: ContentStore): Promise<void> {
  const binaryName = spec.binary ?? 'kernel'
  const kernel = ktree.get(normalizeEntryPath(binaryName, where))
  if (!kernel || kernel.type !== 'file' || !kernel.content) throw new UserError(`${where}: no kernel file "${binaryName}" in the image`)
  tree.set({ path: 'boot', type: 'directory', mode: 0o755, uid: 0, gid: 0 }, where)
  tree.set({ path: 'boot/kernel', type: 'file', mode: kernel.mode, uid: 0, gid: 0, content: kernel.content }, where)
  tree.set({ path: 'boot/cmdline', type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(spec.cmdline) }, where)
  if (spec.ucode) {
    const ucode = ktree.get(normalizeEntryPath(spec.ucode, where))
    if (!ucode || ucode.type !== 'file' || !ucode.content) throw new UserError(`${where}: no microcode file "${spec.ucode}" in the image`)
    tree.set({ path: 'boot/ucode.cpio', type: 'file', mode: ucode.mode, uid: 0, gid: 0, content: ucode.content }, where)
  }
  const tarName = spec.tar ?? 'kernel.tar'
  if (tarName === 'none') return
  const ktar = ktree.get(normalizeEntryPath(tarName, where))
  if (!ktar || ktar.type !== 'file' || !ktar.content) throw new UserError(`${where}: no modules tarball "${tarName}" in the image`)
  await applyLayer(tree, Readable.from(readContent(ktar.content)), `${where}: ${tarName}`, { whiteouts: false, store: content })
}

async function addContainer(
  tree: FsTree, prefix: string, entry: ImageEntry, src: ImageSource, flatten: () => Promise<FsTree>,
  placed: Map<string, string>, idMap: ReadonlyMap<string, number>, where: string,
): Promise<void> {
  const { spec, runtime } = generateConfig(entry, src.config, idMap, where)
  const readonly = spec.root.readonly === true
  const dir = { type: 'directory' as const, mode: 0o755, uid: 0, gid: 0 }
  tree.set({ path: prefix, ...dir }, where)
  tree.set({ path: `${prefix}/config.json`, type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(configJson(spec)) }, where)
  // The first container of an image unpacks it; later ones mount that copy.
  let root = placed.get(src.digest)
  const foundElsewhere = root !== undefined
  if (root === undefined) {
    root = `${prefix}/${readonly ? 'rootfs' : 'lower'}`
    const ctree = copyTree(await flatten())
    prepareImageFiles(ctree, { resolvSymlink: false }, where)
    tree.set({ path: root, ...dir }, where)
    tree.graft(ctree, root, where)
    placed.set(src.digest, root)
  } else {
    await flatten() // recorded for the SBOM; the tree is shared
  }
  if (!readonly) {
    tree.set({ path: `${prefix}/tmp`, ...dir }, where)
    tree.set({ path: `${prefix}/rootfs`, ...dir }, where)
  } else if (foundElsewhere) {
    tree.set({ path: `${prefix}/rootfs`, ...dir }, where)
  }
  // Read-only: a bind of the copy (of itself, when it is its own copy, so
  // that it is a mount point); writable: an overlay whose upper layer is a tmpfs.
  const mounts = rootfsMounts(prefix, readonly, root)
  tree.set({ path: `${prefix}/runtime.json`, type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(runtimeJson(runtime, mounts)) }, where)
  // keel's own settings (restart policy, start order) for its init; only when given, so a
  // LinuxKit manifest assembles to exactly what LinuxKit writes.
  if (entry.keel && Object.keys(entry.keel).length > 0) {
    tree.set({ path: `${prefix}/keel.json`, type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(`${JSON.stringify(entry.keel)}\n`) }, where)
  }
}

async function readSourceFromDisk(path: string): Promise<Buffer | undefined> {
  const p = path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path
  try {
    return await readFile(p)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The manifest as a `metadata:` file holds it: images named by the references they resolved to. */
function metadataOf(manifest: Manifest, images: ReadonlyMap<string, ImageSource>, format: 'yaml' | 'json'): string {
  const data = manifestData(manifest)
  const refOf = (name: unknown): unknown => (typeof name === 'string' ? images.get(name)?.ref ?? name : name)
  const kernel = data['kernel'] as Record<string, unknown> | undefined
  if (kernel) kernel['image'] = refOf(kernel['image'])
  if (Array.isArray(data['init'])) data['init'] = data['init'].map(refOf)
  for (const section of ['onboot', 'onshutdown', 'services', 'volumes']) {
    const list = data[section] as Array<Record<string, unknown>> | undefined
    for (const e of list ?? []) if (e['image'] !== undefined) e['image'] = refOf(e['image'])
  }
  return format === 'json' ? `${JSON.stringify(data, null, 4)}\n` : toYaml(data, { lineWidth: 0 })
}

async function addFiles(
  tree: FsTree, manifest: Manifest, idMap: ReadonlyMap<string, number>,
  readSource: (path: string) => Promise<Buffer | undefined>, images: ReadonlyMap<string, ImageSource>,
): Promise<void> {
  const files: readonly FileEntry[] = manifest.files
  for (const [i, f] of files.entries()) {
    const where = `files[${i}] ${f.path}`
    const path = normalizeEntryPath(f.path.replace(/^\/+/, ''), where)
    if (path === '') throw new UserError(`${where}: path must name a file, not /`)
    let mode = f.directory ? 0o700 : 0o600
    if (f.mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(f.mode.replace(/^0(?=[0-7]{4}$)/, ''))) throw new UserError(`${where}: mode ${JSON.stringify(f.mode)} is not an octal number`)
      mode = Number.parseInt(f.mode, 8)
    }
    const id = (v: unknown, field: string): number => {
      if (v === undefined) return 0
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
      if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v)
      if (typeof v === 'string' && idMap.has(v)) return idMap.get(v)!
      throw new UserError(`${where}: ${field} ${JSON.stringify(v)} is neither a number nor a container name`)
    }
    const uid = id(f.uid, 'uid')
    const gid = id(f.gid, 'gid')
    // Parent folders that do not exist yet get the file's mode, with x where r or w is set.
    let dirMode = mode
    if (dirMode & 0o700) dirMode |= 0o100
    if (dirMode & 0o070) dirMode |= 0o010
    if (dirMode & 0o007) dirMode |= 0o001
    const parts = path.split('/')
    for (let j = 1; j < parts.length; j++) {
      const parent = parts.slice(0, j).join('/')
      if (!tree.has(parent)) tree.set({ path: parent, type: 'directory', mode: dirMode, uid, gid }, where)
    }
    if (f.directory) {
      if (f.contents !== undefined) throw new UserError(`${where}: a directory cannot have contents`)
      tree.set({ path, type: 'directory', mode, uid, gid }, where)
      continue
    }
    if (f.symlink !== undefined) {
      tree.set({ path, type: 'symlink', linkname: f.symlink, mode: 0o777, uid, gid }, where)
      continue
    }
    let data: Buffer
    if (f.contents !== undefined) {
      if (f.source !== undefined) throw new UserError(`${where}: give contents or source, not both`)
      data = Buffer.from(f.contents)
    } else if (f.source !== undefined) {
      const read = await readSource(f.source)
      if (read === undefined) {
        if (f.optional) continue
        throw new UserError(`${where}: source ${f.source} does not exist`)
      }
      data = read
    } else if (f.metadata !== undefined) {
      data = Buffer.from(metadataOf(manifest, images, f.metadata))
    } else {
      throw new UserError(`${where}: contents of the file not given (contents, source, metadata, symlink or directory)`)
    }
    tree.set({ path, type: 'file', mode, uid, gid, content: memoryContent(data) }, where)
  }
}
