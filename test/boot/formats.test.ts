// Every bootable output format of examples/minimal.yml boots under QEMU
// (SeaBIOS, or OVMF for the EFI formats) to the same lines: the onboot
// container's, the service's, and a clean power-off. Each disk image also
// passes qemu-img's check (or info, for formats it cannot check) as its
// format; the cloud formats have the layout their platform documents.
// Boots run two at a time.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-formats-'))
t.teardown(() => rmSync(out, { recursive: true, force: true }))
const expected = ['hello from an onboot container', 'hello from a service', 'reboot: Power down']

// Formats that write the same file names (NAME.iso, NAME.vhd) go into a second folder.
const first = ['tar-kernel-initrd', 'iso-bios', 'iso-efi', 'iso-efi-initrd', 'raw-bios', 'raw-efi', 'qcow2-bios', 'qcow2-efi',
  'vhd', 'vhdx', 'vmdk', 'gcp', 'aws', 'kernel+squashfs', 'kernel+erofs']
const second = ['dynamic-vhd', 'kernel+iso']

interface Boot { format: string; target: string }
const boots: Boot[] = [
  { format: 'tar-kernel-initrd', target: join(out, 'tki', 'minimal') },
  { format: 'iso-bios', target: join(out, 'minimal.iso') },
  { format: 'iso-efi', target: join(out, 'minimal-efi.iso') },
  { format: 'iso-efi-initrd', target: join(out, 'minimal-efi-initrd.iso') },
  { format: 'raw-bios', target: join(out, 'minimal-bios.img') },
  { format: 'raw-efi', target: join(out, 'minimal-efi.img') },
  { format: 'qcow2-bios', target: join(out, 'minimal.qcow2') },
  { format: 'qcow2-efi', target: join(out, 'minimal-efi.qcow2') },
  { format: 'vhd', target: join(out, 'minimal.vhd') },
  { format: 'vhdx', target: join(out, 'minimal.vhdx') },
  { format: 'vmdk', target: join(out, 'minimal.vmdk') },
  { format: 'aws', target: join(out, 'minimal.raw') },
  { format: 'gcp', target: join(out, 'gcp', 'disk.raw') },
  { format: 'kernel+squashfs', target: join(out, 'minimal-squashfs.img') },
  { format: 'kernel+erofs', target: join(out, 'minimal-erofs.img') },
  { format: 'dynamic-vhd', target: join(out, 'b', 'minimal.vhd') },
  { format: 'kernel+iso', target: join(out, 'b', 'minimal.iso') },
]

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' })

t.before(async () => {
  const a = await keel(['build', '-o', out, ...first.flatMap((f) => ['-f', f]), 'examples/minimal.yml'])
  if (a.code !== 0) throw new Error(`keel build failed:\n${a.stderr}`)
  const b = await keel(['build', '-o', join(out, 'b'), ...second.flatMap((f) => ['-f', f]), 'examples/minimal.yml'])
  if (b.code !== 0) throw new Error(`keel build failed:\n${b.stderr}`)
  // tar-kernel-initrd and gcp are archives: unpack them as their users would.
  mkdirSync(join(out, 'tki'))
  run('tar', ['-xf', join(out, 'minimal-initrd.tar'), '-C', join(out, 'tki')])
  for (const f of ['kernel', 'initrd.img', 'cmdline']) renameSync(join(out, 'tki', f), join(out, 'tki', `minimal-${f}`))
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

t.test('every bootable format boots to the same lines', async (t) => {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < boots.length) {
      const b = boots[next++]!
      // Formats of one image share its default state folder (NAME-state, as
      // LinuxKit names it), which one QEMU at a time may use: one each here.
      const boot = await bootAndWatch(b.target, expected, { timeoutMs: 240_000, args: ['--mem', '512', '--state', `${b.target}.${b.format}-state`] })
      if (!boot.ok) t.comment(`${b.format} console:\n${boot.console}\nstderr:\n${boot.stderr}`)
      t.ok(boot.ok, `${b.format} boots${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
      t.equal(boot.code, 0, `${b.format}: keel run exits 0 after the guest powers off`)
    }
  }
  await Promise.all([worker(), worker()])
})
