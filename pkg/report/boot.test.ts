// Which output the report boots: only files this build wrote, never a stale
// file left in the folder by an earlier build; the cheapest of them
// (kernel+initrd, then BIOS, then UEFI with OVMF); and, when none boots, a
// note naming each output and why.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chooseBootInput, describeBoot, pickBoot, timeBoot } from './boot.js'

function folder(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-report-boot-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const f of files) writeFileSync(join(dir, f), f === 'x-cmdline' ? 'console=ttyS0\n' : 'x')
  return dir
}

/** chooseBootInput on a folder holding `files`, of which this build wrote `written` (all by default). */
async function choose(files: string[], written = files): Promise<Awaited<ReturnType<typeof chooseBootInput>> & { dir: string }> {
  const dir = folder(files)
  return { dir, ...(await chooseBootInput(dir, 'x', written.map((f) => join(dir, f)))) }
}

t.test('kernel+initrd written by this build is booted, with its command line, under SeaBIOS', async (t) => {
  const { dir, choice } = await choose(['x-cmdline', 'x-kernel', 'x-initrd.img'])
  t.same(choice, {
    boot: { kind: 'kernel+initrd', kernel: join(dir, 'x-kernel'), initrd: join(dir, 'x-initrd.img'), cmdline: 'console=ttyS0' },
    firmware: 'SeaBIOS',
  })
})

t.test('kernel+squashfs is booted with its root image', async (t) => {
  const { dir, choice } = await choose(['x-kernel', 'x-squashfs-initrd.img', 'x-squashfs.img'])
  t.match(choice, { boot: { kind: 'kernel+initrd', root: join(dir, 'x-squashfs.img') }, firmware: 'SeaBIOS' })
})

t.test('files an earlier build left are not booted', async (t) => {
  const r = await choose(['x-kernel', 'x-initrd.img', 'x.tar'], ['x.tar'])
  t.equal(r.choice, undefined)
  t.equal(r.skip, 'Boot timeline skipped: none of the formats built is one keel run qemu boots (x.tar: the root file system as a tar, not a bootable image). Add -f kernel+initrd to time the boot.')
})

t.test('the cheapest output wins, whatever order the formats were built in', async (t) => {
  const cases: Array<[string, string[], string, string]> = [
    ['kernel+initrd before any disk', ['x-efi.iso', 'x.qcow2', 'x-kernel', 'x-initrd.img', 'x-cmdline'], 'x-kernel', 'SeaBIOS'],
    ['kernel+initrd before kernel+squashfs', ['x-squashfs.img', 'x-squashfs-initrd.img', 'x-kernel', 'x-initrd.img'], 'x-kernel', 'SeaBIOS'],
    ['a BIOS disk before a UEFI one', ['x-efi.img', 'x-bios.img'], 'x-bios.img', 'SeaBIOS'],
    ['a BIOS ISO before a UEFI raw disk', ['x-efi.img', 'x.iso'], 'x.iso', 'SeaBIOS'],
    ['a raw disk before an ISO', ['x.iso', 'x-bios.img'], 'x-bios.img', 'SeaBIOS'],
    ['a VHD boots, under SeaBIOS', ['x.img.tar.gz', 'x.vhd'], 'x.vhd', 'SeaBIOS'],
    ['a VMDK boots before a VHDX (UEFI)', ['x.vhdx', 'x.vmdk'], 'x.vmdk', 'SeaBIOS'],
    ['UEFI only: the raw disk, with OVMF', ['x-efi.qcow2', 'x-efi.iso', 'x-efi.img'], 'x-efi.img', 'OVMF'],
    ['UEFI only: an ISO before qcow2', ['x-efi.qcow2', 'x-efi-initrd.iso'], 'x-efi-initrd.iso', 'OVMF'],
    ['a VHDX is UEFI', ['x.vhdx'], 'x.vhdx', 'OVMF'],
  ]
  for (const [name, files, file, firmware] of cases) {
    const { dir, choice } = await choose(files)
    t.equal(choice && describeBoot(choice.boot).file, join(dir, file), `${name}: ${file}`)
    t.equal(choice?.firmware, firmware, `${name}: ${firmware}`)
  }
})

t.test('nothing bootable: the note names each output and why', async (t) => {
  const r = await choose(['x.img.tar.gz', 'x-docker.tar', 'x-initrd.tar', 'x.tar'])
  t.equal(r.choice, undefined)
  t.equal(r.skip, 'Boot timeline skipped: none of the formats built is one keel run qemu boots (' +
    'x.img.tar.gz: a Compute Engine upload (disk.raw in a tar.gz), which boots only once unpacked; ' +
    'x-docker.tar: an image for docker load, not a machine image; ' +
    'x-initrd.tar: the kernel, initrd and command line in a tar, which boot only once unpacked; ' +
    'x.tar: the root file system as a tar, not a bootable image). Add -f kernel+initrd to time the boot.')
  t.equal(pickBoot([], []).skip, 'Boot timeline skipped: none of the formats built is one keel run qemu boots. Add -f kernel+initrd to time the boot.')
})

t.test('a UEFI-only build without OVMF installed is skipped, not failed', async (t) => {
  const dir = folder(['x-efi.img'])
  const outcome = await timeBoot({
    dir, name: 'x', written: [join(dir, 'x-efi.img')], timeoutMs: 1000,
    ovmf: { code: join(dir, 'no-OVMF_CODE.fd'), vars: join(dir, 'no-OVMF_VARS.fd') },
    onProgress: () => t.fail('nothing is booted'),
  })
  t.equal(outcome.status, 'skipped')
  t.match(outcome.note, /^Boot timeline skipped: x-efi\.img boots only with UEFI firmware, and OVMF is not installed \(.*no-OVMF_CODE\.fd, .*: Debian package ovmf\)/)
})
