// Adjustments LinuxKit makes to every image's files before they go into the
// root filesystem, so that an image built with `docker build` behaves the same.
import { FsTree, memoryContent, type TreeEntry } from '../layers/index.js'

/** Files Docker puts into every image that must not reach the OS image. */
const excluded = ['.dockerenv', 'Dockerfile', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname']

export const hostsContents = `127.0.0.1       localhost
::1     localhost ip6-localhost ip6-loopback
fe00::0 ip6-localnet
ff00::0 ip6-mcastprefix
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`
export const resolvContents = '\n# no resolv.conf configured\n'

/** Where init images' /etc/resolv.conf points, so a DHCP client can fill it in later. */
export const resolvconfSymlink = '/run/resolvconf/resolv.conf'

const requiredDirs = ['dev', 'dev/pts', 'dev/shm', 'etc', 'proc', 'sys']

/**
 * Applies LinuxKit's rules to one image's tree, in place: drop Docker's files,
 * replace /etc/hosts and /etc/resolv.conf (a symlink for init images), and make
 * sure the mount points and files every container needs exist.
 */
export function prepareImageFiles(tree: FsTree, options: { resolvSymlink: boolean }, where: string): void {
  for (const path of excluded) tree.remove(path)
  const root = { uid: 0, gid: 0 }
  for (const dir of requiredDirs) {
    const e = tree.get(dir)
    if (!e) tree.set({ path: dir, type: 'directory', mode: 0o755, ...root }, where)
  }
  const hosts = tree.get('etc/hosts')
  tree.set(fileEntry('etc/hosts', hostsContents, hosts), where)
  const resolv = tree.get('etc/resolv.conf')
  if (options.resolvSymlink) {
    tree.set({ path: 'etc/resolv.conf', type: 'symlink', linkname: resolvconfSymlink, mode: 0o777, uid: resolv?.uid ?? 0, gid: resolv?.gid ?? 0 }, where)
  } else {
    tree.set(fileEntry('etc/resolv.conf', resolvContents, resolv), where)
  }
  if (!tree.has('etc/mtab')) tree.set({ path: 'etc/mtab', type: 'symlink', linkname: '/proc/mounts', mode: 0o777, ...root }, where)
}

function fileEntry(path: string, contents: string, existing: TreeEntry | undefined): TreeEntry {
  return {
    path,
    type: 'file',
    mode: existing?.type === 'file' ? existing.mode : 0o644,
    uid: existing?.uid ?? 0,
    gid: existing?.gid ?? 0,
    content: memoryContent(contents),
  }
}
