import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootInputFor, checkFormats } from './formats.js'

const dir = mkdtempSync(join(tmpdir(), 'keel-boottest-formats-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('a formats file names bootable output formats, each once', async (t) => {
  t.same(checkFormats(['iso-efi', 'qcow2-bios', 'kernel+squashfs', 'gcp', 'tar-kernel-initrd'], 'f'), [])
  t.match(checkFormats(['iso-efl'], 'f'), [/^f: "iso-efl" is not an output format; these are: kernel\+initrd, /])
  t.same(checkFormats(['docker', 'tar'], 'f'), ['f: docker is an image for docker load, not something to boot', 'f: tar is the root file system as a tar, not something to boot'])
  t.same(checkFormats(['vhd', 'vhd'], 'f'), ['f: vhd is named twice'])
  t.same(checkFormats([], 'f'), ['f: names no format'])
})

t.test('what to boot: an image as it is, UEFI by its name; archives unpacked first', async (t) => {
  const iso = join(dir, 'image-efi.iso')
  writeFileSync(iso, 'x')
  const sbom = join(dir, 'image-sbom.spdx.json')
  writeFileSync(sbom, '{}')
  t.same(await bootInputFor('iso-efi', [sbom, iso], join(dir, 'image')), { boot: { kind: 'iso', path: iso, uefi: true }, made: [] })

  // tar-kernel-initrd: kernel, initrd.img and cmdline in a tar.
  const src = join(dir, 'tki')
  mkdirSync(src)
  for (const [f, text] of [['kernel', 'k'], ['initrd.img', 'i'], ['cmdline', 'console=ttyS0\n']]) writeFileSync(join(src, f!), text!)
  const tki = join(dir, 'image-initrd.tar')
  execFileSync('tar', ['-cf', tki, '-C', src, 'kernel', 'initrd.img', 'cmdline'])
  const a = await bootInputFor('tar-kernel-initrd', [tki, sbom], join(dir, 'a', 'image'))
  t.same(a.boot, { kind: 'kernel+initrd', kernel: join(dir, 'a/unpacked/image-kernel'), initrd: join(dir, 'a/unpacked/image-initrd.img'), cmdline: 'console=ttyS0' })
  t.same(a.made, [join(dir, 'a/unpacked')])

  // gcp: disk.raw in a tar.gz.
  const g = join(dir, 'g')
  mkdirSync(g)
  writeFileSync(join(g, 'disk.raw'), Buffer.alloc(1024))
  const gcp = join(dir, 'image.img.tar.gz')
  execFileSync('tar', ['-czf', gcp, '-C', g, 'disk.raw'])
  const b = await bootInputFor('gcp', [gcp], join(dir, 'b', 'image'))
  t.same(b.boot, { kind: 'disk', path: join(dir, 'b/unpacked/disk.raw'), format: 'raw', uefi: false })

  // kernel+erofs: the kernel with its root image, not the initrd as a disk (whatever the order written).
  const e = join(dir, 'e')
  mkdirSync(e)
  const erofs = ['image-erofs-initrd.img', 'image-cmdline', 'image-erofs.img', 'image-kernel'].map((f) => join(e, f))
  for (const f of erofs) writeFileSync(f, 'x')
  t.same((await bootInputFor('kernel+erofs', erofs, join(e, 'image'))).boot, {
    kind: 'kernel+initrd', kernel: join(e, 'image-kernel'), initrd: join(e, 'image-erofs-initrd.img'), cmdline: 'x', root: join(e, 'image-erofs.img'),
  })

  // Negative controls: nothing bootable, and an archive that is not there.
  await t.rejects(bootInputFor('iso-bios', [sbom], join(dir, 'image')), /nothing to boot among what the build wrote \(no files\)/)
  await t.rejects(bootInputFor('gcp', [iso], join(dir, 'image')), /the build wrote no NAME\.img\.tar\.gz \(wrote: image-efi\.iso\)/)
})
