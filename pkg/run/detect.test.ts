import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { detectBootInput } from './detect.js'

async function folder(files: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-detect-'))
  for (const f of files) await writeFile(join(dir, f), f.endsWith('-cmdline') ? 'console=ttyS0 quiet\n' : 'x')
  return dir
}

t.test('ISOs and disks by extension; -efi in the name boots with UEFI', async (t) => {
  const d = await folder(['a.iso', 'a-efi.iso', 'a-bios.img', 'a-efi.img', 'a.qcow2', 'a-efi.qcow2', 'a.vhd', 'a.vhdx', 'a.vmdk', 'a.raw'])
  t.same(await detectBootInput(join(d, 'a.iso')), { kind: 'iso', path: join(d, 'a.iso'), uefi: false })
  t.same(await detectBootInput(join(d, 'a-efi.iso')), { kind: 'iso', path: join(d, 'a-efi.iso'), uefi: true })
  t.same(await detectBootInput(join(d, 'a-bios.img')), { kind: 'disk', path: join(d, 'a-bios.img'), format: 'raw', uefi: false })
  t.same(await detectBootInput(join(d, 'a-efi.img')), { kind: 'disk', path: join(d, 'a-efi.img'), format: 'raw', uefi: true })
  t.same(await detectBootInput(join(d, 'a-efi.qcow2')), { kind: 'disk', path: join(d, 'a-efi.qcow2'), format: 'qcow2', uefi: true })
  t.equal((await detectBootInput(join(d, 'a.vhd')) as { format: string }).format, 'vpc')
  t.same(await detectBootInput(join(d, 'a.vhdx')), { kind: 'disk', path: join(d, 'a.vhdx'), format: 'vhdx', uefi: true }, 'a VHDX is generation 2: UEFI')
  t.equal((await detectBootInput(join(d, 'a.vmdk')) as { format: string }).format, 'vmdk')
  t.equal((await detectBootInput(join(d, 'a.raw')) as { format: string }).format, 'raw')
})

t.test('a kernel+initrd prefix, named by prefix or by any of its files', async (t) => {
  const d = await folder(['k-kernel', 'k-initrd.img', 'k-cmdline'])
  const want = { kind: 'kernel+initrd', kernel: join(d, 'k-kernel'), initrd: join(d, 'k-initrd.img'), cmdline: 'console=ttyS0 quiet' }
  t.same(await detectBootInput(join(d, 'k')), want)
  t.same(await detectBootInput(join(d, 'k-kernel')), want)
  t.same(await detectBootInput(join(d, 'k-cmdline')), want)
})

t.test('kernel+squashfs, kernel+erofs and kernel+iso attach their root image', async (t) => {
  for (const [type, root] of [['squashfs', 'r-squashfs.img'], ['erofs', 'r-erofs.img'], ['iso', 'r.iso']] as const) {
    const d = await folder(['r-kernel', 'r-cmdline', `r-${type}-initrd.img`, root])
    const want = {
      kind: 'kernel+initrd', kernel: join(d, 'r-kernel'), initrd: join(d, `r-${type}-initrd.img`), cmdline: 'console=ttyS0 quiet', root: join(d, root),
    }
    t.same(await detectBootInput(join(d, root)), want, `${type} by its image`)
    t.same(await detectBootInput(join(d, 'r')), want, `${type} by prefix`)
  }
})

t.test('a plain kernel+initrd wins over a root image with the same prefix', async (t) => {
  const d = await folder(['p-kernel', 'p-initrd.img', 'p-squashfs-initrd.img', 'p-squashfs.img'])
  t.equal((await detectBootInput(join(d, 'p')) as { initrd: string }).initrd, join(d, 'p-initrd.img'))
})

t.test('nothing to boot, or a cloud upload, is a clear error', async (t) => {
  const d = await folder(['only-kernel', 'g.img.tar.gz'])
  await t.rejects(detectBootInput(join(d, 'only')), /nothing to boot: .*only-initrd\.img not found/)
  await t.rejects(detectBootInput(join(d, 'missing.iso')), /nothing to boot/)
  await t.rejects(detectBootInput(join(d, 'g.img.tar.gz')), /Compute Engine upload/)
})
