// The assembled root filesystem → how many bytes each part of the image
// takes, uncompressed. Paths map to parts as assembly lays them out
// (pkg/assemble): boot/kernel, lib/modules/, containers/onboot/NNN-name/,
// containers/onshutdown/NNN-name/, containers/services/name/,
// containers/volumes/name/; the files: section by its paths; everything
// else at / came from the init images. A hard link's bytes count once.
import { contentSize, type FsTree } from '../layers/index.js'

export type PartKind = 'kernel' | 'modules' | 'init' | 'onboot' | 'onshutdown' | 'service' | 'volume' | 'files' | 'other'

export interface SizePart {
  kind: PartKind
  /** The container or volume name, for those parts. */
  name?: string
  /** What the report shows. */
  label: string
  bytes: number
  /** Regular files counted (hard links not again). */
  files: number
}

const order: PartKind[] = ['kernel', 'modules', 'init', 'onboot', 'onshutdown', 'service', 'volume', 'files', 'other']

function partOf(path: string, filesPaths: readonly string[]): Omit<SizePart, 'bytes' | 'files'> {
  if (filesPaths.some((f) => path === f || path.startsWith(`${f}/`))) return { kind: 'files', label: 'files:' }
  if (path === 'boot/kernel') return { kind: 'kernel', label: 'kernel' }
  if (path.startsWith('lib/modules/')) return { kind: 'modules', label: 'kernel modules' }
  const c = /^containers\/(onboot|onshutdown|services|volumes)\/([^/]+)\//.exec(path)
  if (c) {
    const section = c[1]!
    if (section === 'services') return { kind: 'service', name: c[2]!, label: `service ${c[2]!}` }
    if (section === 'volumes') return { kind: 'volume', name: c[2]!, label: `volume ${c[2]!}` }
    // NNN-name: the number keeps the manifest's order; the name is the entry's.
    const name = c[2]!.replace(/^[0-9]+-/, '')
    return { kind: section as 'onboot' | 'onshutdown', name, label: `${section} ${name}` }
  }
  if (path.startsWith('boot/')) return { kind: 'other', label: 'other (boot/cmdline, microcode)' }
  return { kind: 'init', label: 'init' }
}

/**
 * Sums the regular files of `tree` by part. `filesPaths` are the manifest's
 * files: paths (with or without a leading slash). Parts come in image order
 * (kernel, modules, init, onboot, onshutdown, services, volumes, files:,
 * other); onboot and onshutdown containers in the order they run,
 * services and volumes by name. Parts without a file are left out.
 */
export function measureTree(tree: FsTree, filesPaths: readonly string[]): SizePart[] {
  const wanted = filesPaths.map((p) => p.replace(/^\/+/, '').replace(/\/+$/, '')).filter((p) => p !== '')
  const parts = new Map<string, SizePart>()
  for (const e of tree.sorted()) {
    if (e.type !== 'file' || !e.content) continue
    const p = partOf(e.path, wanted)
    const key = `${p.kind}\0${p.name ?? ''}`
    let part = parts.get(key)
    if (!part) {
      part = { ...p, bytes: 0, files: 0 }
      parts.set(key, part)
    }
    part.bytes += contentSize(e.content)
    part.files++
  }
  // Map order is first-seen, which is tar order: onboot by NNN, services by name.
  return [...parts.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind))
}
