// Where a package build unpacks its tree (KEEL_ROOTFS). Unpacking writes
// thousands of files that live for seconds: on a tmpfs that costs a third of
// the CPU time it costs on a journaling disk, and far less when other work is
// writing to that disk. So the tree goes to /dev/shm when it is a tmpfs with
// room to spare (in the file system and in free memory), else beside the
// build's other scratch files. Build steps' own scratch folder (KEEL_WORK)
// always stays on disk: a compile there may need gigabytes.
import { freemem } from 'node:os'
import { lstat, mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { processAlive } from '../exec/index.js'

/** statfs(2)'s f_type of a tmpfs. */
const tmpfsMagic = 0x01021994
const GiB = 1024 * 1024 * 1024

export interface TreeDirOptions {
  /** The tmpfs to use when it has room (default /dev/shm); false: never a tmpfs. */
  tmpfs?: string | false
  /** Room the tmpfs, and free memory, must have (default 2 GiB). */
  minFreeBytes?: number
}

export interface TreeDir {
  /** The empty folder to unpack into. */
  path: string
  /** Whether it is on the tmpfs. */
  onTmpfs: boolean
  /** Removes the folder and everything in it. */
  dispose(): Promise<void>
}

const prefix = 'keel-pkg-'
/** A tree folder's name: keel-pkg-IMAGE-PID-XXXXXX (mkdtemp's six characters). */
const namePattern = /^keel-pkg-.+-(\d+)-[A-Za-z0-9]{6}$/
/** Leftovers older than this are removed even when their process id is in use again. */
const staleMs = 24 * 3600 * 1000

/** Whether `dir` is a tmpfs with `minFree` bytes free, and the machine has as much memory free. */
async function tmpfsHasRoom(dir: string, minFree: number): Promise<boolean> {
  try {
    const st = await statfs(dir)
    return st.type === tmpfsMagic && st.bavail * st.bsize >= minFree && freemem() >= minFree
  } catch {
    return false
  }
}

/**
 * Removes this user's build trees on the tmpfs that a killed build left
 * behind (they hold memory): those whose process is gone, or that are a day old.
 */
async function removeStale(dir: string): Promise<void> {
  const uid = process.getuid?.()
  const now = Date.now()
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = namePattern.exec(name)
    if (!m) continue
    const path = join(dir, name)
    const st = await lstat(path).catch(() => undefined)
    if (!st?.isDirectory() || st.uid !== uid) continue
    if (!processAlive(Number(m[1])) || now - st.mtimeMs > staleMs) await rm(path, { recursive: true, force: true })
  }
}

/**
 * A fresh folder for a package's tree: on the tmpfs when it has room, else
 * `work/rootfs`. A folder on the tmpfs is made by mkdtemp (mode 0700, a new
 * name), so nobody else's file can stand in for it.
 */
export async function createTreeDir(work: string, image: string, options: TreeDirOptions = {}): Promise<TreeDir> {
  const tmpfs = options.tmpfs ?? '/dev/shm'
  if (tmpfs !== false && (await tmpfsHasRoom(tmpfs, options.minFreeBytes ?? 2 * GiB))) {
    await removeStale(tmpfs)
    const parent = await mkdtemp(join(tmpfs, `${prefix}${image}-${process.pid}-`))
    const path = join(parent, 'rootfs')
    await mkdir(path)
    return { path, onTmpfs: true, dispose: () => rm(parent, { recursive: true, force: true }) }
  }
  const path = join(work, 'rootfs')
  await mkdir(path)
  return { path, onTmpfs: false, dispose: () => rm(path, { recursive: true, force: true }) }
}
