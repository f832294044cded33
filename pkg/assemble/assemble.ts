// Manifest + its images → the whole root filesystem, laid out as LinuxKit lays
// it out:
//   boot/kernel, boot/cmdline[, boot/ucode.cpio]   from the kernel image
//   lib/modules/...                                from the kernel image's kernel.tar
//   everything in the init images                  at /
//   containers/onboot/NNN-name/{config.json,runtime.json,rootfs/}
//   containers/onshutdown/NNN-name/...
//   containers/services/name/...
//   the files: section, last, so it wins.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { Readable } from 'node:stream'
import { UserError } from '../errors/index.js'
import { applyLayer, flattenImage, FsTree, normalizeEntryPath } from '../layers/index.js'
import type { FileEntry, ImageEntry, Manifest, Section } from '../manifest/index.js'
import type { ImageSource } from '../oci/index.js'
import { configJson, generateConfig } from './oci-config.js'
import { prepareImageFiles } from './image-files.js'

export interface AssembleInput {
  manifest: Manifest
  /** Every image the manifest names, by the image string as it appears in the manifest. */
  images: ReadonlyMap<string, ImageSource>
  /** Read a `files:` source (default: from disk, `~/` expanded). */
  readSource?: (path: string) => Promise<Buffer | undefined>
}

export async function assembleTree(input: AssembleInput): Promise<FsTree> {
  const { manifest } = input
  const tree = new FsTree()
  const image = (name: string, where: string): ImageSource => {
    const src = input.images.get(name)
    if (!src) throw new UserError(`${where}: image ${name} was not resolved`)
    return src
  }
  const flattened = new Map<string, Promise<FsTree>>()
  const flatten = (src: ImageSource): Promise<FsTree> => {
    let t = flattened.get(src.digest)
    if (!t) {
      t = flattenImage(src)
      flattened.set(src.digest, t)
    }
    return t
  }

  if (manifest.kernel) {
    const src = image(manifest.kernel.image, 'kernel')
    await addKernel(tree, await flatten(src), manifest.kernel, `kernel image ${src.ref}`)
  }

  for (const [i, name] of manifest.init.entries()) {
    const src = image(name, `init[${i}]`)
    const itree = copyTree(await flatten(src))
    prepareImageFiles(itree, { resolvSymlink: true }, `init[${i}] ${src.ref}`)
    tree.graft(itree, '', `init[${i}] ${src.ref}`)
  }

  const idMap = new Map<string, number>()
  let nextId = 100
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    for (const e of manifest[section]) idMap.set(e.name, nextId++)
  }

  for (const section of ['onboot', 'onshutdown', 'services'] as const satisfies readonly Section[]) {
    for (const [i, entry] of manifest[section].entries()) {
      const where = `${section}[${i}] ${entry.name}`
      const src = image(entry.image, where)
      const prefix = section === 'services'
        ? `containers/services/${entry.name}`
        : `containers/${section}/${String(i).padStart(3, '0')}-${entry.name}`
      await addContainer(tree, prefix, entry, src, copyTree(await flatten(src)), idMap, `${where} (${src.ref})`)
    }
  }

  await addFiles(tree, manifest.files, idMap, input.readSource ?? readSourceFromDisk)
  return tree
}

function copyTree(t: FsTree): FsTree {
  const out = new FsTree()
  out.graft(t, '', 'copy')
  return out
}

async function addKernel(tree: FsTree, ktree: FsTree, spec: NonNullable<Manifest['kernel']>, where: string): Promise<void> {
  const binaryName = spec.binary ?? 'kernel'
  const kernel = ktree.get(normalizeEntryPath(binaryName, where))
  if (!kernel || kernel.type !== 'file' || !kernel.data) throw new UserError(`${where}: no kernel file "${binaryName}" in the image`)
  tree.set({ path: 'boot', type: 'directory', mode: 0o755, uid: 0, gid: 0 }, where)
  tree.set({ path: 'boot/kernel', type: 'file', mode: kernel.mode, uid: 0, gid: 0, data: kernel.data }, where)
  tree.set({ path: 'boot/cmdline', type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(spec.cmdline) }, where)
  if (spec.ucode) {
    const ucode = ktree.get(normalizeEntryPath(spec.ucode, where))
    if (!ucode || ucode.type !== 'file' || !ucode.data) throw new UserError(`${where}: no microcode file "${spec.ucode}" in the image`)
    tree.set({ path: 'boot/ucode.cpio', type: 'file', mode: ucode.mode, uid: 0, gid: 0, data: ucode.data }, where)
  }
  const tarName = spec.tar ?? 'kernel.tar'
  if (tarName === 'none') return
  const ktar = ktree.get(normalizeEntryPath(tarName, where))
  if (!ktar || ktar.type !== 'file' || !ktar.data) throw new UserError(`${where}: no modules tarball "${tarName}" in the image`)
  await applyLayer(tree, Readable.from([ktar.data]), `${where}: ${tarName}`, { whiteouts: false })
}

async function addContainer(
  tree: FsTree, prefix: string, entry: ImageEntry, src: ImageSource, ctree: FsTree,
  idMap: ReadonlyMap<string, number>, where: string,
): Promise<void> {
  const { spec, runtime } = generateConfig(entry, src.config, idMap, where)
  prepareImageFiles(ctree, { resolvSymlink: false }, where)
  tree.set({ path: prefix, type: 'directory', mode: 0o755, uid: 0, gid: 0 }, where)
  tree.set({ path: `${prefix}/config.json`, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(configJson(spec)) }, where)
  tree.set({ path: `${prefix}/runtime.json`, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(configJson(runtime)) }, where)
  tree.set({ path: `${prefix}/rootfs`, type: 'directory', mode: 0o755, uid: 0, gid: 0 }, where)
  tree.graft(ctree, `${prefix}/rootfs`, where)
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

async function addFiles(
  tree: FsTree, files: readonly FileEntry[], idMap: ReadonlyMap<string, number>,
  readSource: (path: string) => Promise<Buffer | undefined>,
): Promise<void> {
  for (const [i, f] of files.entries()) {
    const where = `files[${i}] ${f.path}`
    const path = normalizeEntryPath(f.path.replace(/^\/+/, ''), where)
    if (path === '') throw new UserError(`${where}: path must name a file, not /`)
    let mode = f.directory ? 0o700 : 0o600
    if (f.mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(f.mode)) throw new UserError(`${where}: mode ${JSON.stringify(f.mode)} is not an octal number`)
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
      throw new UserError(`${where}: metadata files are not supported yet`)
    } else {
      throw new UserError(`${where}: contents of the file not given (contents, source, symlink or directory)`)
    }
    tree.set({ path, type: 'file', mode, uid, gid, data }, where)
  }
}
