// keel run qemu [options] PREFIX
import { resolve } from 'node:path'
import { requireTools } from '../../pkg/exec/index.js'
import { chooseAccel, detectBootInput, startQemu } from '../../pkg/run/index.js'
import { defaultCacheDir } from '../../pkg/store/index.js'
import { parseCommandArgs, parseIntOption } from './args.js'
import { UsageError, type CliIO } from './io.js'

export const runUsage = `usage: keel run qemu [options] PREFIX

Boots PREFIX-kernel, PREFIX-initrd.img and PREFIX-cmdline under QEMU with the
console on this terminal, and returns when the guest powers off.

options:
      --accel auto|kvm|tcg  accelerator (default auto: KVM when a probe shows it works, else TCG)
      --cpus N              virtual CPUs (default 1)
      --mem MiB             memory in MiB (default 1024)
      --no-reboot           exit instead of rebooting when the guest reboots
`

export async function runCommand(io: CliIO, args: string[]): Promise<number> {
  const [backend, ...rest] = args
  if (backend === undefined || backend === '-h' || backend === '--help') {
    io.stdout.write(runUsage)
    return backend === undefined ? 2 : 0
  }
  if (backend !== 'qemu') throw new UsageError(`unknown run backend ${JSON.stringify(backend)}; this version runs qemu`, runUsage)
  const { values, positionals } = parseCommandArgs(rest, {
    accel: { type: 'string' },
    cpus: { type: 'string' },
    mem: { type: 'string' },
    'no-reboot': { type: 'boolean' },
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
  io.log.info(`booting ${boot.kernel} with ${accel} (${reason})`)
  const vm = startQemu({ boot, accel, cpus, memoryMiB, noReboot: values['no-reboot'] === true }, { stdio: 'inherit' })
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
  }
}
