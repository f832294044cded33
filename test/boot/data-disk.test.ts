// End to end: a persistent data disk (services/format, services/mount).
// examples/data-disk.yml is built and booted with a fresh disk (format makes
// it, the service writes a token), again with the same disk (format leaves
// it alone, the token is read back), and with disks that hold something
// (format and mountie must leave their bytes exactly as they were). A second
// image, whose service keeps writing until the disk is full, is killed
// mid-write (a power cut) and booted again: e2fsck runs, the disk mounts,
// the token is still there, and a full disk is an error the machine
// survives.
import t, { type Test } from 'tap'
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel, repoRoot, type BootResult } from '../helpers/keel-cli.js'

const work = mkdtempSync(join(tmpdir(), 'keel-data-disk-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

const MiB = 1024 * 1024
const DISK_MIB = 64
const BOOT_MS = 240_000
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** A raw disk image of DISK_MIB, sparse, with `fill` applied to it. */
function makeDisk(name: string, fill?: (fd: number) => void): string {
  const path = join(work, name)
  const fd = openSync(path, 'wx')
  try {
    writeSync(fd, Buffer.alloc(1), 0, 1, DISK_MIB * MiB - 1)
    fill?.(fd)
  } finally {
    closeSync(fd)
  }
  return path
}

function boot(prefix: string, disk: string, expect: readonly (string | RegExp)[], onStart?: (child: ChildProcess) => void): Promise<BootResult> {
  return bootAndWatch(prefix, expect, { timeoutMs: BOOT_MS, args: ['--mem', '512', '--disk', `${disk},format=raw`], ...(onStart ? { onStart } : {}) })
}

function report(t: Test, b: BootResult, what: string): void {
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `${what}${b.missing ? `; never saw: ${b.missing}` : ''}`)
}

/** The token a service (its console prefix) says it wrote. */
const tokenOf = (console: string, service: string): string | undefined =>
  new RegExp(`${service}: token written: (keel-[0-9a-f-]+)`).exec(console)?.[1]

t.test('examples/data-disk.yml', async (t) => {
  const build = await keel(['build', '-o', work, 'examples/data-disk.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  const prefix = join(work, 'data-disk')
  const disk = makeDisk('data.img')

  const first = await boot(prefix, disk, [
    /format: vda: empty \(its first and last MiB are zeros\)/,
    /format: vda1: made an ext4 file system labelled "DATA"/,
    /mount: mounted \/dev\/vda1 \(ext4 labelled "DATA"\) on \/var\/lib\/data/,
    /notes: token written: keel-/,
    'notes: boot number 1',
    'reboot: Power down',
  ])
  report(t, first, 'boot 1: the empty disk is partitioned, formatted and mounted; the token is written')
  t.equal(first.code, 0, 'keel run exits 0 after a clean power-off')
  const token = tokenOf(first.console, 'notes')
  t.ok(token, `a token was written (${token})`)

  const afterFirst = sha256(disk)
  const second = await boot(prefix, disk, [
    /format: vda: already formatted: partition 1 \(dos table\) holds an ext4 file system labelled "DATA"; leaving it alone/,
    /mount: checking ext4: e2fsck -p \/dev\/vda1/,
    /mount: mounted \/dev\/vda1/,
    `notes: token read back: ${token}`,
    'notes: boot number 2',
    'reboot: Power down',
  ])
  report(t, second, 'boot 2: the disk is not formatted again and the token is read back')
  t.notMatch(second.console, /made an ext4 file system|writing a dos partition table/, 'format wrote nothing')
  t.not(sha256(disk), afterFirst, 'the service did write to the disk (the control for the untouched-disk cases)')

  // Negative control: the same console, checked for a line it never shows.
  const control = new ConsoleMatcher([`notes: token read back: ${token}`, 'format: vda: empty'])
  control.push(`${second.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the matcher can fail')

  t.test('a disk holding unknown data is left byte for byte as it was', async (t) => {
    const data = makeDisk('unknown.img', (fd) => {
      const junk = createHash('sha512').update('keel data-disk test').digest()
      for (const at of [4096, 20 * MiB, DISK_MIB * MiB - 8192]) writeSync(fd, junk, 0, junk.length, at)
    })
    const before = sha256(data)
    const b = await boot(prefix, data, [
      /format: error: no eligible disk: vda: holds data \(its first non-zero byte is at offset 4096\)/,
      /mount: error: gave up after \d+ s: no device has a file system labelled "DATA"/,
      'notes: /var/lib/data is not the data disk; writing nothing',
      'reboot: Power down',
    ])
    report(t, b, 'format refuses it, mountie finds no DATA, the machine runs on')
    t.equal(sha256(data), before, 'sha256 unchanged')
  })

  const mke2fs = spawnSync('mke2fs', ['-V'], { encoding: 'utf8' })
  t.test('an ext4 disk with another label is left byte for byte as it was', { skip: mke2fs.error ? 'mke2fs is not installed here' : false }, async (t) => {
    const other = makeDisk('other.img')
    const made = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'OTHER', '-E', 'root_owner=0:0', other], { encoding: 'utf8' })
    t.equal(made.status, 0, `mke2fs makes the disk\n${made.stderr}`)
    const before = sha256(other)
    const b = await boot(prefix, other, [
      /format: error: no eligible disk: vda: holds an ext4 file system labelled "OTHER"/,
      /mount: error: gave up after \d+ s: no device has a file system labelled "DATA"/,
      'notes: /var/lib/data is not the data disk; writing nothing',
      'reboot: Power down',
    ])
    report(t, b, 'format refuses it, mountie does not touch it')
    t.equal(sha256(other), before, 'sha256 unchanged')
  })
})

// The same packages, with a service that writes a token (synced), then keeps
// writing 1 MiB files (not synced) until the disk is full.
const writerManifest = `
kernel:
  image: "@pkg:${repoRoot}kernel"
  cmdline: "console=ttyS0"
init:
  - "@pkg:${repoRoot}images/init"
onboot:
  - name: format
    image: "@pkg:${repoRoot}services/format"
    command: ["/usr/bin/format", "-label", "DATA"]
  - name: mount
    image: "@pkg:${repoRoot}services/mount"
    command: ["/usr/bin/mountie", "-label", "DATA", "/var/lib/data"]
services:
  - name: writer
    image: "@pkg:${repoRoot}images/busybox"
    binds:
      - /var/lib/data:/var/lib/data
    runtime:
      mkdir: ["/var/lib/data"]
    pid: host
    capabilities:
      - CAP_KILL
    command:
      - /bin/sh
      - -c
      - |
        d=/var/lib/data
        grep -q " $d ext4 " /proc/mounts || { echo "not mounted"; exec poweroff; }
        if [ -f $d/token ]; then echo "token read back: $(cat $d/token)"
        else echo "keel-$(cat /proc/sys/kernel/random/uuid)" > $d/token && sync && echo "token written: $(cat $d/token)"; fi
        rm -rf $d/fill && mkdir $d/fill && i=0
        while :; do
          i=$((i + 1))
          if ! err=$(dd if=/dev/zero of=$d/fill/$i bs=1M count=1 2>&1); then echo "write $i failed: $err"; break; fi
          echo "wrote chunk $i"
        done
        echo "still running after the disk filled: $(cat $d/token)"
        rm -rf $d/fill && sync
        exec poweroff
`

t.test('power cut while writing, then a full disk', async (t) => {
  const dir = join(work, 'writer')
  const manifest = join(work, 'writer.yml')
  writeFileSync(manifest, writerManifest)
  const build = await keel(['build', '-o', work, manifest])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  const prefix = dir
  const disk = makeDisk('cut.img')

  // Boot 1: SIGKILL QEMU itself (not keel) once the writer is mid-way.
  let killed: number | undefined
  const cut = await boot(prefix, disk, [/writer: token written: keel-/, 'writer: wrote chunk 3'], (child) => {
    let seen = ''
    child.stdout!.on('data', (d: Buffer) => {
      seen = (seen + d.toString()).slice(-4096)
      if (killed !== undefined || !seen.includes('writer: wrote chunk 3')) return
      const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)], { encoding: 'utf8' })
      const qemu = ps.stdout.split('\n').map((l) => l.trim().split(/\s+/)).find(([, comm]) => comm?.startsWith('qemu'))
      if (!qemu) return
      killed = Number(qemu[0])
      process.kill(killed, 'SIGKILL')
    })
  })
  report(t, cut, 'boot 1: token written, writing under way')
  t.ok(killed, `QEMU (pid ${killed}) was killed with SIGKILL mid-write`)
  t.notMatch(cut.console, /still running after the disk filled|reboot: Power down/, 'the guest never finished')
  const token = tokenOf(cut.console, 'writer')
  t.ok(token, `the token written before the cut (${token})`)

  // Boot 2: e2fsck replays the journal, the disk mounts, the token survived;
  // then the writer fills the disk, gets ENOSPC, and the machine runs on.
  const after = await boot(prefix, disk, [
    /format: vda: already formatted/,
    /mount: checking ext4: e2fsck -p \/dev\/vda1/,
    /mount: DATA: (recovering journal|clean)/,
    /mount: mounted \/dev\/vda1/,
    `writer: token read back: ${token}`,
    /writer: write \d+ failed: .*No space left on device/,
    `writer: still running after the disk filled: ${token}`,
    'reboot: Power down',
  ])
  report(t, after, 'boot 2: fsck, mount, the token is back; a full disk is an error the machine survives')
  t.comment(`e2fsck after the cut: ${after.console.split('\n').filter((l) => l.startsWith('mount: DATA:')).join(' | ')}`)
  t.equal(after.code, 0, 'and it powers off cleanly')
})
