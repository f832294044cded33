// Which output the report boots: only files this build wrote, never a stale
// file left in the folder by an earlier build, and nothing that needs UEFI.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chooseBootInput } from './boot.js'

function folder(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-report-boot-'))
  for (const f of files) writeFileSync(join(dir, f), f === 'x-cmdline' ? 'console=ttyS0\n' : 'x')
  return dir
}

t.test('kernel+initrd written by this build is booted, with its command line', async (t) => {
  const dir = folder(['x-kernel', 'x-initrd.img', 'x-cmdline'])
  const written = ['x-cmdline', 'x-kernel', 'x-initrd.img'].map((f) => join(dir, f))
  t.same(await chooseBootInput(dir, 'x', written), {
    boot: { kind: 'kernel+initrd', kernel: join(dir, 'x-kernel'), initrd: join(dir, 'x-initrd.img'), cmdline: 'console=ttyS0' },
  })
})

t.test('kernel+squashfs is booted with its root image', async (t) => {
  const dir = folder(['x-kernel', 'x-squashfs-initrd.img', 'x-squashfs.img'])
  const { boot } = await chooseBootInput(dir, 'x', ['x-kernel', 'x-squashfs-initrd.img', 'x-squashfs.img'].map((f) => join(dir, f)))
  t.match(boot, { kind: 'kernel+initrd', root: join(dir, 'x-squashfs.img') })
})

t.test('files an earlier build left are not booted', async (t) => {
  const dir = folder(['x-kernel', 'x-initrd.img', 'x.tar'])
  const r = await chooseBootInput(dir, 'x', [join(dir, 'x.tar')])
  t.equal(r.boot, undefined)
  t.match(r.skip, /none of the formats built is one keel run qemu boots/)
})

t.test('a BIOS disk is booted; a UEFI-only image is skipped and named', async (t) => {
  const dir = folder(['x-bios.img', 'x-efi.iso'])
  t.match(await chooseBootInput(dir, 'x', [join(dir, 'x-efi.iso'), join(dir, 'x-bios.img')]), { boot: { kind: 'disk', format: 'raw', uefi: false } })
  const r = await chooseBootInput(dir, 'x', [join(dir, 'x-efi.iso')])
  t.equal(r.boot, undefined)
  t.match(r.skip, `${join(dir, 'x-efi.iso')} needs UEFI firmware`)
})
