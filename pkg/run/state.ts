// The state folder of a QEMU machine (as LinuxKit keeps one): what must
// survive from one run to the next (the MAC address, the UEFI variables,
// disks made without a path) and what another keel needs to find a running
// machine (QMP socket, pid file, console log).
import { readFile, mkdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { UserError } from '../errors/index.js'
import { defaultVmName } from './launchers/types.js'
import { generateMac, parseMac } from './options.js'
import type { BootInput } from './qemu-args.js'

export interface StatePaths {
  dir: string
  /** LinuxKit's name for it, so a LinuxKit state folder keeps its address. */
  macFile: string
  qmpSocket: string
  pidFile: string
  consoleLog: string
  consoleSocket: string
  metadataIso: string
  ovmfVars: string
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    macFile: join(dir, 'mac-addr'),
    qmpSocket: join(dir, 'qmp.sock'),
    pidFile: join(dir, 'qemu.pid'),
    consoleLog: join(dir, 'console.log'),
    consoleSocket: join(dir, 'console.sock'),
    metadataIso: join(dir, 'data.iso'),
    ovmfVars: join(dir, 'OVMF_VARS.fd'),
  }
}

/** NAME-state beside the image, NAME being the image's name without its format suffix. */
export function defaultStateDir(boot: BootInput): string {
  const first = boot.kind === 'kernel+initrd' ? boot.kernel : boot.path
  return join(dirname(first), `${defaultVmName(boot)}-state`)
}

/** Creates the folder (a file in its place is an error). */
export async function openStateDir(dir: string): Promise<StatePaths> {
  const s = await stat(dir).catch(() => undefined)
  if (s && !s.isDirectory()) throw new UserError(`--state ${dir}: not a folder`, { hint: 'give a folder for the machine\'s state with --state DIR' })
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new UserError(`cannot create the state folder ${dir}: ${(err as Error).message}`, { hint: 'give a writable folder with --state DIR', cause: err })
  }
  return statePaths(dir)
}

/** The machine's MAC address: read from the state folder, or made and kept there on the first run. */
export async function readOrCreateMac(paths: StatePaths): Promise<string> {
  const text = await readFile(paths.macFile, 'utf8').catch(() => undefined)
  if (text !== undefined) return parseMac(text, paths.macFile)
  const mac = generateMac()
  await writeFile(paths.macFile, `${mac}\n`, { mode: 0o644 })
  return mac
}

/** The pid of a QEMU this state folder's pid file names, if it still runs; else undefined. */
export async function runningQemuPid(paths: StatePaths): Promise<number | undefined> {
  const text = await readFile(paths.pidFile, 'utf8').catch(() => undefined)
  if (text === undefined || !/^\s*[0-9]+\s*$/.test(text)) return undefined
  const pid = Number(text.trim())
  // A pid is reused once its process is gone: count it only if it is still a QEMU.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  if (cmdline === undefined) return undefined
  const argv0 = cmdline.split('\0')[0] ?? ''
  return /qemu-system/.test(argv0) ? pid : undefined
}
