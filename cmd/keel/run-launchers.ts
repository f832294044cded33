// keel run hyperv | hyperkit | xhyve | vfkit | virtualbox | vmware: launchers
// for hypervisors keel cannot run here. Each is a pure plan in
// pkg/run/launchers (files to write, commands to run); this file does the
// I/O: it finds the image, keeps the state folder, writes the files and
// prints the commands (or, for hyperkit, xhyve and vfkit on macOS, runs them).
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { UserError } from '../../pkg/errors/index.js'
import { detectBootInput, type BootInput } from '../../pkg/run/index.js'
import {
  checkVmName, defaultVmName, formatShCommand, planHyperkit, planHyperv, planVfkit, planVirtualBox, planVmware,
  type LaunchPlan,
} from '../../pkg/run/launchers/index.js'
import { parseCommandArgs, parseIntOption } from './args.js'
import { UsageError, type CliIO } from './io.js'

const common = `      --name NAME     the VM's name (default: the image's file name without its suffix)
      --cpus N        virtual CPUs (default 1)
      --mem MiB       memory in MiB (default 1024)
  -h, --help          this text`

const notTested = `Generated and golden-tested, but not boot-tested by keel: only QEMU is (docs/run.md).`

export const launcherUsage: Record<string, string> = {
  hyperv: `usage: keel run hyperv [options] IMAGE

Writes a PowerShell script that creates a Hyper-V VM for IMAGE and starts it:
generation 2 (UEFI, Secure Boot off) for a .vhdx or UEFI ISO, generation 1
(BIOS) for a .vhd or BIOS ISO. The VM gets a copy of the image in its folder;
COM1 is a named pipe (the script's -Console shows it); -Remove deletes the VM.
${notTested}

options:
  -o, --output FILE   write the script to FILE (default: stdout)
      --switch NAME   the virtual switch ("" for no network; default "Default Switch")
${common}
`,
  hyperkit: `usage: keel run hyperkit [options] PREFIX|IMAGE

Prints the hyperkit command for a kernel+initrd PREFIX (or a UEFI ISO or raw
UEFI disk, with --firmware), and runs it on macOS. COM1 is this terminal. The
VM's UUID, and so its MAC address, is kept in a state folder.
${notTested}

options:
      --state DIR     state folder (default: NAME-state beside the image)
      --uuid UUID     the VM's UUID (default: kept in the state folder)
      --firmware FILE UEFI firmware (UEFI.fd) to boot an ISO or disk
      --print         print the command, even on macOS
${common}
`,
  xhyve: `usage: keel run xhyve [options] PREFIX

Prints the xhyve command for a kernel+initrd PREFIX, and runs it on macOS.
COM1 is this terminal. The VM's UUID, and so its MAC address, is kept in a
state folder.
${notTested}

options:
      --state DIR     state folder (default: NAME-state beside the image)
      --uuid UUID     the VM's UUID (default: kept in the state folder)
      --print         print the command, even on macOS
${common}
`,
  vfkit: `usage: keel run vfkit [options] PREFIX|IMAGE

Prints the vfkit command (macOS Virtualization.framework) for a kernel+initrd
PREFIX, a UEFI ISO or a raw UEFI disk, and runs it on macOS. The console is
hvc0 on this terminal; the EFI variables and the VM's UUID (its MAC address)
are kept in a state folder.
${notTested}

options:
      --state DIR     state folder (default: NAME-state beside the image)
      --print         print the command, even on macOS
${common}
`,
  virtualbox: `usage: keel run virtualbox [options] IMAGE

Writes a sh script of VBoxManage commands that creates a VirtualBox VM for an
ISO or disk image (UEFI for -efi images), copies the image into the VM's
folder and starts it headless; its --remove deletes the VM.
${notTested}

options:
  -o, --output FILE   write the script to FILE (default: stdout)
      --serial file|socket  COM1 to console.log, or to a Unix socket console.sock, in the VM folder (default file)
${common}
`,
  vmware: `usage: keel run vmware [options] IMAGE

Writes a VMware VM folder, NAME.vmx beside a copy of a .vmdk or ISO (UEFI
firmware for -efi images, COM1 to console.log), and prints the vmrun command
that starts it.
${notTested}

options:
  -o, --output DIR    the VM folder (default: NAME-vmware)
      --product ws|player|fusion  vmrun's host type (default: fusion on macOS, else ws)
${common}
`,
}

const listUsage = `usage: keel run qemu|hyperv|hyperkit|xhyve|vfkit|virtualbox|vmware [options] IMAGE

keel run BACKEND --help describes each.
`

export async function runLauncherCommand(io: CliIO, backend: string, args: string[]): Promise<number> {
  const usage = launcherUsage[backend]
  if (usage === undefined) throw new UsageError(`unknown run backend ${JSON.stringify(backend)}`, listUsage)
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: 'string' },
    cpus: { type: 'string' },
    mem: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    ...(backend === 'hyperv' || backend === 'virtualbox' || backend === 'vmware' ? { output: { type: 'string', short: 'o' } } : {}),
    ...(backend === 'hyperv' ? { switch: { type: 'string' } } : {}),
    ...(backend === 'virtualbox' ? { serial: { type: 'string' } } : {}),
    ...(backend === 'vmware' ? { product: { type: 'string' } } : {}),
    ...(backend === 'hyperkit' || backend === 'xhyve' || backend === 'vfkit' ? { state: { type: 'string' }, print: { type: 'boolean' } } : {}),
    ...(backend === 'hyperkit' || backend === 'xhyve' ? { uuid: { type: 'string' } } : {}),
    ...(backend === 'hyperkit' ? { firmware: { type: 'string' } } : {}),
  }, usage)
  const v = values as Record<string, string | boolean | undefined>
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined)
  if (v['help']) {
    io.stdout.write(usage)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one image', usage)
  const cpus = parseIntOption(str('cpus'), 'cpus', usage, 1)
  const memoryMiB = parseIntOption(str('mem'), 'mem', usage, 1024)
  const boot = await detectBootInput(resolve(io.cwd, positionals[0]!))
  const name = str('name') ?? defaultVmName(boot)
  checkVmName(name)
  const common = { boot, name, cpus, memoryMiB }
  const output = str('output') === undefined ? undefined : resolve(io.cwd, str('output')!)
  const macos = process.platform === 'darwin'

  switch (backend) {
    case 'hyperv':
      return writeScript(io, planHyperv({ ...common, switchName: str('switch') ?? 'Default Switch' }), output, false)
    case 'virtualbox': {
      const serial = str('serial') ?? 'file'
      if (serial !== 'file' && serial !== 'socket') throw new UsageError('--serial must be file or socket', usage)
      return writeScript(io, planVirtualBox({ ...common, serial }), output, true)
    }
    case 'vmware': {
      const product = str('product') ?? (macos ? 'fusion' : 'ws')
      if (product !== 'ws' && product !== 'player' && product !== 'fusion') throw new UsageError('--product must be ws, player or fusion', usage)
      const dir = output ?? resolve(io.cwd, `${name}-vmware`)
      return writeVmFolder(io, planVmware({ ...common, product, dir }), dir)
    }
    default: {
      const stateDir = str('state') === undefined ? join(dirname(firstPath(boot)), `${name}-state`) : resolve(io.cwd, str('state')!)
      const uuid = str('uuid') ?? await readOrCreateUuid(stateDir)
      const plan = backend === 'vfkit'
        ? planVfkit({ ...common, stateDir, uuid })
        : planHyperkit({
          ...common, stateDir, uuid, binary: backend === 'xhyve' ? 'xhyve' : 'hyperkit',
          ...(str('firmware') === undefined ? {} : { firmware: resolve(io.cwd, str('firmware')!) }),
        })
      for (const n of plan.notes) io.log.info(n)
      const argv = plan.commands[0]!
      if (!macos || v['print']) {
        io.stdout.write(`${formatShCommand(argv)}\n`)
        return 0
      }
      return runInteractive(argv)
    }
  }
}

function firstPath(boot: BootInput): string {
  return boot.kind === 'kernel+initrd' ? boot.kernel : boot.path
}

/** The VM's UUID, kept in the state folder so that its MAC address, and so its DHCP lease, stay the same. */
async function readOrCreateUuid(stateDir: string): Promise<string> {
  const file = join(stateDir, 'uuid')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(stateDir, { recursive: true })
  const uuid = randomUUID()
  await writeFile(file, `${uuid}\n`)
  return uuid
}

/** A plan whose one file is a script: to stdout, or to the file -o names. */
async function writeScript(io: CliIO, plan: LaunchPlan, output: string | undefined, executable: boolean): Promise<number> {
  const [content] = Object.values(plan.files)
  if (output === undefined) {
    io.stdout.write(content!)
  } else {
    await writeFile(output, content!)
    if (executable) await chmod(output, 0o755)
    io.stdout.write(`${output}\n`)
  }
  for (const n of plan.notes) io.log.info(n)
  return 0
}

/** The VMware folder: the .vmx and a copy of the image; then the command that starts it. */
async function writeVmFolder(io: CliIO, plan: LaunchPlan, dir: string): Promise<number> {
  for (const name of Object.keys(plan.files)) {
    if (await exists(join(dir, name))) {
      throw new UserError(`${join(dir, name)} exists already`, { hint: 'delete the old VM folder, or choose another with -o' })
    }
  }
  await mkdir(dir, { recursive: true })
  for (const c of plan.copies ?? []) await copyFile(c.from, join(dir, c.to))
  for (const [name, content] of Object.entries(plan.files)) await writeFile(join(dir, name), content)
  for (const n of plan.notes) io.log.info(n)
  for (const c of plan.commands) io.stdout.write(`${formatShCommand(c)}\n`)
  return 0
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}

/**
 * Runs the hypervisor with this terminal as its console. Not through
 * pkg/exec: its runner never gives a child our stdin, and a console needs it.
 */
async function runInteractive(argv: string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' })
  return new Promise((resolvePromise, reject) => {
    child.on('error', (err) => reject(new UserError(`cannot start ${argv[0]}: ${err.message}`, { hint: `install ${argv[0]} (e.g. with Homebrew)`, cause: err })))
    child.on('exit', (code, signal) => resolvePromise(signal ? 1 : code ?? 1))
  })
}
