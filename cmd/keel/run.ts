// keel run qemu [options] PREFIX, keel run stop [--timeout S] STATE_OR_PREFIX
// Reads the options, prepares the state folder (MAC address, metadata ISO,
// UEFI variables, disks), then starts QEMU in the foreground with the
// console on this terminal, or as a daemon (--detach).
import { readFile, rm, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { UserError } from '../../pkg/errors/index.js'
import { createRealRunner, requireTools } from '../../pkg/exec/index.js'
import {
  EscapeFilter, checkNetworkingOnHost, checkPublished, chooseAccel, debianOvmf, defaultStateDir, ensureDiskFile, detectBootInput, escapeHelp, escapeName,
  openStateDir, ovmfWithVars, parseByteSize, parseDiskSpec, parseFwCfg, parseNetworking, parsePublish, readOrCreateMac, runningQemuPid,
  startQemu, startQemuDaemon, statePaths, stopQemu, writeMetadataIso,
  type DiskSpec, type Firmware, type QemuConfig, type StatePaths,
} from '../../pkg/run/index.js'
import { defaultCacheDir } from '../../pkg/store/index.js'
import { parseCommandArgs, parseIntOption } from './args.js'
import { UsageError, type CliIO } from './io.js'

export const runUsage = `usage: keel run qemu [options] PREFIX
       keel run stop [--timeout S] STATE_OR_PREFIX

Boots an image under QEMU with the console on this terminal, and returns when
the guest powers off: a kernel+initrd prefix (PREFIX-kernel, -initrd.img,
-cmdline), an ISO, or a disk image (.img, .raw, .qcow2, .vhd, .vhdx, .vmdk).
On a terminal every key goes to the guest, Ctrl-C included; ${escapeName} then ?
lists the escape keys (q kills QEMU, p presses the power button). SIGINT,
SIGTERM or SIGHUP to keel press the guest's ACPI power button, and QEMU is
killed if it has not stopped by --stop-timeout; a second SIGINT kills it at
once.

options:
      --accel auto|kvm|tcg  accelerator (default auto: KVM when a probe shows it works, else TCG)
      --cpus N              virtual CPUs (default 1)
      --mem MiB             memory in MiB (default 1024)
      --uefi                boot with UEFI firmware (OVMF); images named *-efi* always do
      --disk [PATH][,size=S][,format=F]
                            attach a disk, created (sparse) when missing; without PATH it
                            is kept in the state folder (diskN.img); repeatable
      --disk-size SIZE      size of created disks that give no size= (default 1G)
      --networking MODE     user (default), tap[,IFNAME], bridge[,BRIDGE] or none; tap and
                            bridge need host setup (docs/run.md, "Networking")
      --publish [IP:]HOST:GUEST[/tcp|/udp]
                            forward a host port to the guest (user networking), bound to
                            127.0.0.1 unless IP is given; repeatable
      --data STRING         metadata for the guest: a CD labelled cidata holding
                            user-data and config (read by the metadata package)
      --data-file FILE      the same, from a file
      --fw-cfg NAME=FILE    a QEMU fw_cfg item (NAME under opt/; the metadata package
                            reads opt/keel/userdata); repeatable
      --state DIR           state folder: MAC address, UEFI variables, metadata ISO,
                            QMP socket, pid file (default: NAME-state beside the image)
      --detach              run QEMU in the background, the console logged to
                            STATE/console.log; prints the state folder
      --stop-timeout S      seconds to wait for a power-off before killing QEMU (default 20)
      --no-reboot           exit instead of rebooting when the guest reboots

keel run stop presses the power button of a machine started with --detach
(named by its state folder or its image), waits --timeout seconds (default 20),
then kills QEMU; exit 0 after a clean power-off, 1 when it had to kill it.

other hypervisors (writes or prints what to run on their host; docs/run.md):
  keel run hyperv|hyperkit|xhyve|vfkit|virtualbox|vmware --help
`

export async function runCommand(io: CliIO, args: string[]): Promise<number> {
  const [backend, ...rest] = args
  if (backend === undefined || backend === '-h' || backend === '--help') {
    io.stdout.write(runUsage)
    return backend === undefined ? 2 : 0
  }
  if (backend === 'stop') return stopCommand(io, rest)
  if (backend !== 'qemu') return (await import('./run-launchers.js')).runLauncherCommand(io, backend, rest)
  const { values, positionals } = parseCommandArgs(rest, {
    accel: { type: 'string' },
    cpus: { type: 'string' },
    mem: { type: 'string' },
    'no-reboot': { type: 'boolean' },
    uefi: { type: 'boolean' },
    disk: { type: 'string', multiple: true },
    'disk-size': { type: 'string' },
    networking: { type: 'string' },
    publish: { type: 'string', multiple: true },
    data: { type: 'string' },
    'data-file': { type: 'string' },
    'fw-cfg': { type: 'string', multiple: true },
    state: { type: 'string' },
    detach: { type: 'boolean' },
    'stop-timeout': { type: 'string' },
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
  const stopTimeoutMs = parseIntOption(values['stop-timeout'], 'stop-timeout', runUsage, 20) * 1000
  if (cpus < 1) throw new UsageError('--cpus must be at least 1', runUsage)
  if (memoryMiB < 64) throw new UsageError('--mem must be at least 64', runUsage)
  const networking = parseNetworking(values.networking ?? 'user')
  const publish = (values.publish ?? []).map(parsePublish)
  checkPublished(networking, publish)
  const diskSpecs = (values.disk ?? []).map(parseDiskSpec)
  const defaultDiskSize = values['disk-size'] === undefined ? 1024 ** 3 : parseByteSize(values['disk-size'], '--disk-size')
  if (values.data !== undefined && values['data-file'] !== undefined) throw new UsageError('give --data or --data-file, not both', runUsage)
  const fwCfg = (values['fw-cfg'] ?? []).map(parseFwCfg).map((f) => ({ ...f, file: resolve(io.cwd, f.file) }))
  const data = values['data-file'] !== undefined ? await readDataFile(resolve(io.cwd, values['data-file'])) : values.data === undefined ? undefined : Buffer.from(values.data)

  requireTools([{ command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }])
  await checkNetworkingOnHost(networking)
  if (data !== undefined) requireTools([{ command: 'xorriso', debianPackage: 'xorriso' }])
  for (const f of fwCfg) {
    if (!(await stat(f.file).catch(() => undefined))?.isFile()) throw new UserError(`--fw-cfg ${f.name}=${f.file}: no such file`)
  }
  const boot = await detectBootInput(resolve(io.cwd, positionals[0]!))
  const state = await openStateDir(values.state === undefined ? defaultStateDir(boot) : resolve(io.cwd, values.state))
  const running = await runningQemuPid(state)
  if (running !== undefined) {
    throw new UserError(`a QEMU (pid ${running}) is already running with the state folder ${state.dir}`, { hint: `stop it with: keel run stop ${state.dir}, or give another --state` })
  }
  const { accel, reason } = await chooseAccel(accelMode, { cacheDir: defaultCacheDir(io.env) })
  const uefi = values.uefi === true || (boot.kind !== 'kernel+initrd' && boot.uefi)
  const firmware = uefi ? await prepareFirmware(state) : undefined
  const disks = await prepareDisks(diskSpecs, defaultDiskSize, io.cwd, state)
  await rm(state.metadataIso, { force: true })
  if (data !== undefined) await writeMetadataIso(data, state.metadataIso, createRealRunner())
  await rm(state.pidFile, { force: true })
  const mac = networking.mode === 'none' ? undefined : await readOrCreateMac(state)
  const detach = values.detach === true
  // QEMU runs in the state folder, and its sockets are named relative to it:
  // a Unix socket's path may be no longer than 107 bytes, a state folder's may.
  const config: QemuConfig = {
    boot, accel, cpus, memoryMiB, noReboot: values['no-reboot'] === true, disks,
    networking, publish, ...(mac === undefined ? {} : { mac }),
    ...(data === undefined ? {} : { cdroms: [state.metadataIso] }),
    ...(fwCfg.length === 0 ? {} : { fwCfg }),
    ...(firmware ? { firmware } : {}),
    qmpSocket: 'qmp.sock', pidFile: state.pidFile,
    ...(detach ? { console: { socket: 'console.sock', log: state.consoleLog }, daemonize: true } : {}),
  }
  const what = `${boot.kind === 'kernel+initrd' ? boot.kernel : boot.path} with ${accel}${uefi ? ' and UEFI' : ''} (${reason})`
  if (detach) {
    await rm(state.consoleLog, { force: true })
    const { pid, argv } = await startQemuDaemon(config, { cwd: state.dir })
    io.log.debug(`started: ${argv.join(' ')}`)
    io.log.info(`booted ${what} in the background, QEMU pid ${pid}; console: ${state.consoleLog}; stop it with: keel run stop ${state.dir}`)
    io.stdout.write(`${state.dir}\n`)
    return 0
  }
  io.log.info(`booting ${what}; state in ${state.dir}`)
  return runForeground(io, config, state, stopTimeoutMs)
}

async function readDataFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new UserError(`--data-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err })
  }
}

/**
 * QEMU in the foreground. Our stdin goes to the console: on a terminal in
 * raw mode, through the escape filter; otherwise unchanged. Ctrl-C, SIGTERM
 * and SIGHUP press the power button, then kill after the timeout; a second
 * one kills at once.
 */
async function runForeground(io: CliIO, config: QemuConfig, state: StatePaths, stopTimeoutMs: number): Promise<number> {
  const vm = startQemu(config, { stdio: 'console', cwd: state.dir })
  io.log.debug(`started: ${vm.argv.join(' ')}`)
  const stdin = process.stdin
  const tty = stdin.isTTY === true
  const say = (msg: string): void => { io.stderr.write(`\r\nkeel: ${msg}\r\n`) }
  let stopping = false
  const powerOff = (why: string, signal?: NodeJS.Signals): void => {
    if (stopping) {
      // Only a second Ctrl-C (or p) kills at once: a supervisor's SIGTERM
      // often reaches keel twice (timeout(1) signals the child and its group).
      if (signal !== undefined && signal !== 'SIGINT') return
      say(`${why} again: killing QEMU`)
      vm.kill()
      return
    }
    stopping = true
    const pid = vm.child.pid
    if (pid === undefined) return
    say(`${why}: pressing the power button; QEMU is killed if the guest has not powered off in ${stopTimeoutMs / 1000} s${tty ? ` (${escapeName} q kills it now)` : ' (Ctrl-C again kills it now)'}`)
    void stopQemu({ pid, qmpSocket: state.qmpSocket, timeoutMs: stopTimeoutMs, group: true, exited: vm.exited }).then((r) => {
      if (r.how === 'killed') say(`the guest did not power off${r.buttonError ? ` (${r.buttonError})` : ''}; QEMU killed`)
    })
  }
  const filter = new EscapeFilter()
  const onInput = (chunk: Buffer): void => {
    if (!tty) {
      vm.child.stdin?.write(chunk)
      return
    }
    for (const item of filter.push(chunk)) {
      if ('data' in item) vm.child.stdin?.write(item.data)
      else if (item.command === 'quit') { say('killing QEMU'); vm.kill() }
      else if (item.command === 'poweroff') powerOff('power off asked for')
      else say(escapeHelp)
    }
  }
  vm.child.stdin?.on('error', () => undefined) // QEMU gone: input has nowhere to go
  const onSignal = (signal: NodeJS.Signals): void => powerOff(`got ${signal}`, signal)
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onSignal)
  if (tty) {
    stdin.setRawMode(true)
    io.log.info(`console on this terminal; ${escapeName} then ? for help`)
  }
  stdin.on('data', onInput)
  stdin.on('error', () => undefined)
  const restore = (): void => { if (tty && stdin.isTTY) stdin.setRawMode(false) }
  process.once('exit', restore)
  try {
    const { code, signal } = await vm.exited
    if (signal) {
      io.log.warn(`QEMU ended by ${signal}`)
      return 1
    }
    return code ?? 1
  } finally {
    restore()
    process.off('exit', restore)
    for (const s of signals) process.off(s, onSignal)
    stdin.off('data', onInput)
    stdin.pause()
    if (!tty) stdin.destroy()
    await rm(state.pidFile, { force: true })
  }
}

/** keel run stop [--timeout S] STATE_OR_PREFIX */
async function stopCommand(io: CliIO, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, runUsage)
  if (values.help) {
    io.stdout.write(runUsage)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('give the state folder (or the image) of the machine to stop', runUsage)
  const timeoutMs = parseIntOption(values.timeout, 'timeout', runUsage, 20) * 1000
  const target = resolve(io.cwd, positionals[0]!)
  const isDir = (await stat(target).catch(() => undefined))?.isDirectory() === true
  const state = isDir ? statePaths(target) : statePaths(defaultStateDir(await detectBootInput(target)))
  const pid = await runningQemuPid(state)
  if (pid === undefined) throw new UserError(`no QEMU is running with the state folder ${state.dir}`, { hint: 'keel run qemu --detach prints the state folder of the machine it starts' })
  io.log.info(`pressing the power button of QEMU pid ${pid} (${state.dir}); killing it after ${timeoutMs / 1000} s`)
  const r = await stopQemu({ pid, qmpSocket: state.qmpSocket, timeoutMs })
  if (r.how === 'killed') {
    io.log.warn(`the guest did not power off within ${timeoutMs / 1000} s${r.buttonError ? ` (${r.buttonError})` : ''}; QEMU killed`)
    await rm(state.pidFile, { force: true })
    return 1
  }
  await rm(state.pidFile, { force: true })
  io.log.info('powered off')
  return 0
}

/** OVMF with the machine's own copy of its variable store, kept in the state folder. */
async function prepareFirmware(state: StatePaths): Promise<Firmware> {
  requireTools([{ command: debianOvmf.code, debianPackage: 'ovmf', file: true }, { command: debianOvmf.vars, debianPackage: 'ovmf', file: true }])
  return ovmfWithVars(state.ovmfVars, { keep: true })
}

/** Each --disk: a missing file is created (qcow2 when asked or so named, else raw, sparse). */
async function prepareDisks(specs: DiskSpec[], defaultSize: number, cwd: string, state: StatePaths): Promise<Array<{ path: string; format: string }>> {
  const out: Array<{ path: string; format: string }> = []
  for (const [i, spec] of specs.entries()) {
    const path = spec.path === undefined
      ? resolve(state.dir, `disk${i}.${spec.format === 'qcow2' ? 'qcow2' : 'img'}`)
      : resolve(cwd, spec.path)
    const format = spec.format ?? (path.endsWith('.qcow2') ? 'qcow2' : 'raw')
    await ensureDiskFile(path, format, spec.size ?? defaultSize)
    out.push({ path, format })
  }
  return out
}
