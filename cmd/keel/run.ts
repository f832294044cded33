// keel run qemu [options] PREFIX
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRealRunner, requireTools } from '../../pkg/exec/index.js'
import { chooseAccel, detectBootInput, startQemu } from '../../pkg/run/index.js'
import { defaultCacheDir } from '../../pkg/store/index.js'
import { parseCommandArgs, parseIntOption, parseSize } from './args.js'
import { UsageError, type CliIO } from './io.js'

export const runUsage = `usage: keel run qemu [options] PREFIX

Boots an image under QEMU with the console on this terminal, and returns when
the guest powers off: a kernel+initrd prefix (PREFIX-kernel, -initrd.img,
-cmdline), an ISO, or a disk image (.img, .raw, .qcow2, .vhd, .vhdx, .vmdk).

options:
      --accel auto|kvm|tcg  accelerator (default auto: KVM when a probe shows it works, else TCG)
      --cpus N              virtual CPUs (default 1)
      --mem MiB             memory in MiB (default 1024)
      --uefi                boot with UEFI firmware (OVMF); images named *-efi* always do
      --disk PATH[,format=F]  attach a disk (created with --disk-size when missing), repeatable
      --disk-size SIZE      size of disks --disk creates (default 1G)
      --no-reboot           exit instead of rebooting when the guest reboots

other hypervisors (writes or prints what to run on their host; docs/run.md):
  keel run hyperv|hyperkit|xhyve|vfkit|virtualbox|vmware --help
`

export async function runCommand(io: CliIO, args: string[]): Promise<number> {
  const [backend, ...rest] = args
  if (backend === undefined || backend === '-h' || backend === '--help') {
    io.stdout.write(runUsage)
    return backend === undefined ? 2 : 0
  }
  if (backend !== 'qemu') return (await import('./run-launchers.js')).runLauncherCommand(io, backend, rest)
  const { values, positionals } = parseCommandArgs(rest, {
    accel: { type: 'string' },
    cpus: { type: 'string' },
    mem: { type: 'string' },
    'no-reboot': { type: 'boolean' },
    uefi: { type: 'boolean' },
    disk: { type: 'string', multiple: true },
    'disk-size': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, runUsage)
  if (values.help) {
    io.stdout.write(runUsage)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one image to run', runUsage)
  const accelMode = values.accel ?? 'auto'
  if (accelMode !== 'auto' && accelMode !== 'kvm' && accelMode !== 'tcg') throw new UsageError(`--accel must be auto, kvm or tcg`, runUsage)
  const cpus = parseIntOption(values.cpus, 'cpus', runUsage, 1)
  const memoryMiB = parseIntOption(values.mem, 'mem', runUsage, 1024)
  if (cpus < 1) throw new UsageError('--cpus must be at least 1', runUsage)
  if (memoryMiB < 64) throw new UsageError('--mem must be at least 64', runUsage)

  requireTools([{ command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }])
  const boot = await detectBootInput(resolve(io.cwd, positionals[0]!))
  const { accel, reason } = await chooseAccel(accelMode, { cacheDir: defaultCacheDir(io.env) })
  const uefi = values.uefi === true || (boot.kind !== 'kernel+initrd' && boot.uefi)
  const state = await mkdtemp(join(tmpdir(), 'keel-run-'))
  const firmware = uefi ? await prepareFirmware(state) : undefined
  const disks = await prepareDisks(values.disk ?? [], values['disk-size'] === undefined ? 1024 ** 3 : parseSize(values['disk-size'], runUsage), io.cwd)
  io.log.info(`booting ${boot.kind === 'kernel+initrd' ? boot.kernel : boot.path} with ${accel}${uefi ? ' and UEFI' : ''} (${reason})`)
  const vm = startQemu({
    boot, accel, cpus, memoryMiB, noReboot: values['no-reboot'] === true, disks,
    ...(firmware ? { firmware } : {}),
  }, { stdio: 'inherit' })
  const onSignal = (): void => { void vm.stop() }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
  try {
    const { code, signal } = await vm.exited
    if (signal) {
      io.log.warn(`QEMU ended by ${signal}`)
      return 1
    }
    return code ?? 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.off('SIGHUP', onSignal)
    await rm(state, { recursive: true, force: true })
  }
}

const ovmfCode = '/usr/share/OVMF/OVMF_CODE_4M.fd'
const ovmfVars = '/usr/share/OVMF/OVMF_VARS_4M.fd'

/** OVMF with a private copy of its variable store. */
async function prepareFirmware(state: string): Promise<{ code: string; vars: string }> {
  requireTools([{ command: ovmfCode, debianPackage: 'ovmf', file: true }, { command: ovmfVars, debianPackage: 'ovmf', file: true }])
  const vars = join(state, 'OVMF_VARS.fd')
  await copyFile(ovmfVars, vars)
  return { code: ovmfCode, vars }
}

/** --disk PATH[,format=F]: a missing file is created (qcow2 when asked, else raw, sparse). */
async function prepareDisks(specs: string[], size: number, cwd: string): Promise<Array<{ path: string; format: string }>> {
  const out: Array<{ path: string; format: string }> = []
  for (const spec of specs) {
    const [rawPath, ...opts] = spec.split(',')
    const path = resolve(cwd, rawPath!)
    const format = opts.find((o) => o.startsWith('format='))?.slice(7) ?? (path.endsWith('.qcow2') ? 'qcow2' : 'raw')
    try {
      await stat(path)
    } catch {
      if (format === 'raw') {
        const fh = await open(path, 'wx')
        await fh.truncate(size)
        await fh.close()
      } else {
        await createRealRunner().run('qemu-img', ['create', '-q', '-f', format, path, String(size)])
      }
    }
    out.push({ path, format })
  }
  return out
}
