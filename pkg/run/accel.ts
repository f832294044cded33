// Does KVM work here? /dev/kvm may exist and open yet run guests at a crawl or
// not at all (nested virtualisation gone wrong), so the only honest probe is to
// run guest code: boot SeaBIOS with no disks and wait for it to reach its
// "Booting from" line. A working KVM gets there in tens of milliseconds and TCG
// in about 150 ms; a broken one does not within the timeout. The answer is
// cached per host boot, since it does not change until the host reboots.
import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../store/index.js'

export type Accel = 'kvm' | 'tcg'

export interface ProbeOptions {
  qemu?: string
  timeoutMs?: number
  /** Folder for the cached answer; no caching when undefined. */
  cacheDir?: string
}

export async function probeKvm(options: ProbeOptions = {}): Promise<{ usable: boolean; reason: string }> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK)
  } catch {
    return { usable: false, reason: '/dev/kvm is missing or not accessible' }
  }
  const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => '')
  const cacheFile = options.cacheDir && bootId ? join(options.cacheDir, 'kvm-probe.json') : undefined
  if (cacheFile) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { bootId?: string; usable?: boolean; reason?: string }
      if (cached.bootId === bootId && typeof cached.usable === 'boolean') return { usable: cached.usable, reason: `${cached.reason ?? ''} (cached for this boot)` }
    } catch {
      // no cache yet
    }
  }
  const result = await runProbe(options.qemu ?? 'qemu-system-x86_64', options.timeoutMs ?? 1500)
  if (cacheFile) {
    await mkdir(options.cacheDir!, { recursive: true })
    await writeFileAtomic(cacheFile, JSON.stringify({ bootId, ...result }))
  }
  return result
}

function runProbe(qemu: string, timeoutMs: number): Promise<{ usable: boolean; reason: string }> {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(qemu, [
      '-accel', 'kvm', '-machine', 'pc', '-m', '32', '-nodefaults', '-no-user-config', '-display', 'none',
      '-chardev', 'stdio,id=dbg', '-device', 'isa-debugcon,iobase=0x402,chardev=dbg', '-boot', 'strict=on',
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let settled = false
    const finish = (usable: boolean, reason: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      resolve({ usable, reason })
    }
    const timer = setTimeout(() => finish(false, `a KVM guest did not reach its boot loader within ${timeoutMs} ms`), timeoutMs)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1')
      if (/Booting from|No bootable device/.test(out)) finish(true, `KVM guest reached its boot loader in ${Date.now() - started} ms`)
    })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', (e) => finish(false, `could not start ${qemu}: ${e.message}`))
    child.on('exit', (code, signal) => finish(false, `QEMU with KVM exited (${signal ?? code}) before the guest ran: ${err.trim().split('\n').pop() ?? ''}`))
  })
}

/** Picks the accelerator for `mode`: kvm or tcg as asked, or auto (KVM when the probe passes). */
export async function chooseAccel(mode: 'auto' | Accel, options: ProbeOptions = {}): Promise<{ accel: Accel; reason: string }> {
  if (mode !== 'auto') return { accel: mode, reason: `asked for ${mode}` }
  const probe = await probeKvm(options)
  return probe.usable ? { accel: 'kvm', reason: probe.reason } : { accel: 'tcg', reason: `KVM not usable: ${probe.reason}; using TCG` }
}
