// Every output format of examples/minimal.yml, built the way a user builds
// several at once: each disk image passes qemu-img's check (or info, for
// formats it cannot check) as its format, and the cloud formats have the
// layout their platform documents. (That each bootable format boots, under
// SeaBIOS or OVMF, to the same lines is the boot-test case
// test/cases/140_formats, one boot a format.)
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-formats-'))
t.teardown(() => rmSync(out, { recursive: true, force: true }))

// Formats that write the same file names (NAME.iso, NAME.vhd) go into a second folder.
const first = ['tar-kernel-initrd', 'iso-bios', 'iso-efi', 'iso-efi-initrd', 'raw-bios', 'raw-efi', 'qcow2-bios', 'qcow2-efi',
  'vhd', 'vhdx', 'vmdk', 'gcp', 'aws', 'kernel+squashfs', 'kernel+erofs']
const second = ['dynamic-vhd', 'kernel+iso']

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' })

t.before(async () => {
  const a = await keel(['build', '-o', out, ...first.flatMap((f) => ['-f', f]), 'examples/minimal.yml'])
  if (a.code !== 0) throw new Error(`keel build failed:\n${a.stderr}`)
  const b = await keel(['build', '-o', join(out, 'b'), ...second.flatMap((f) => ['-f', f]), 'examples/minimal.yml'])
  if (b.code !== 0) throw new Error(`keel build failed:\n${b.stderr}`)
  // gcp is an archive: unpack it as its users would.
  mkdirSync(join(out, 'gcp'))
  run('tar', ['-xzf', join(out, 'minimal.img.tar.gz'), '-C', join(out, 'gcp')])
})

t.test('every disk image is valid in its format', async (t) => {
  for (const [file, format] of [['minimal.qcow2', 'qcow2'], ['minimal-efi.qcow2', 'qcow2'], ['minimal.vhdx', 'vhdx'], ['minimal.vmdk', 'vmdk']]) {
    t.match(run('qemu-img', ['check', '-f', format!, join(out, file!)]), /No errors were found/, `${file}: qemu-img check`)
  }
  // qemu-img cannot check VHD (vpc) or raw: their metadata must still read as the right format and size.
  for (const [file, format] of [['minimal.vhd', 'vpc'], [join('b', 'minimal.vhd'), 'vpc'], ['minimal-bios.img', 'raw'], ['minimal-efi.img', 'raw'], ['minimal.raw', 'raw']]) {
    const info = JSON.parse(run('qemu-img', ['info', '--output=json', '-f', format!, join(out, file!)])) as { format: string; 'virtual-size': number }
    t.equal(info.format, format, `${file}: ${format}`)
    t.equal(info['virtual-size'] % (1024 * 1024), 0, `${file}: a whole number of MiB`)
  }
  // A dynamic VHD is recognised as VHD without being told; a fixed one is a raw disk with a footer.
  const probed = JSON.parse(run('qemu-img', ['info', '--output=json', join(out, 'b', 'minimal.vhd')])) as { format: string }
  t.equal(probed.format, 'vpc', 'the dynamic VHD is probed as vpc')
})

t.test('the cloud formats have the layout their platforms document', async (t) => {
  // Compute Engine: a gzip'd GNU tar holding only disk.raw, a whole number of GiB.
  const listing = run('tar', ['-tvzf', join(out, 'minimal.img.tar.gz')]).trim().split('\n')
  t.equal(listing.length, 1, 'one file')
  t.match(listing[0], /\sdisk\.raw$/, 'named disk.raw')
  t.equal(statSync(join(out, 'gcp', 'disk.raw')).size % (1024 ** 3), 0, 'a whole number of GiB')
  const header = execFileSync('sh', ['-c', `gzip -dc '${join(out, 'minimal.img.tar.gz')}' | head -c 512`])
  t.equal(header.subarray(257, 265).toString('latin1'), 'ustar  \0', 'GNU (oldgnu) tar format')
  // EC2 imports a raw disk: an MBR-booted disk, a whole number of MiB.
  const mbr = execFileSync('sh', ['-c', `head -c 512 '${join(out, 'minimal.raw')}'`])
  t.equal(mbr.readUInt16LE(510), 0xaa55, 'an MBR boot signature')
})
