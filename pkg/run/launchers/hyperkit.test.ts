import t from 'tap'
import { execFileSync } from 'node:child_process'
import { planHyperkit, type HyperkitOptions } from './hyperkit.js'
import { formatShCommand } from './quote.js'
import { checkGolden, renderPlan } from './testing.js'

const uuid = '5f3c1e2a-8b7d-4c6e-9a1b-2c3d4e5f6a7b'
const kernel = { kind: 'kernel+initrd' as const, kernel: '/o/web-kernel', initrd: '/o/web-initrd.img', cmdline: 'console=ttyS0,115200 page_poison=1' }
const base: HyperkitOptions = { boot: kernel, name: 'web', cpus: 2, memoryMiB: 1024, binary: 'hyperkit', uuid, stateDir: '/o/web-state' }

t.test('golden: a kernel+initrd boots with kexec, COM1 on stdio, the UUID for a stable MAC', async (t) => {
  const plan = planHyperkit(base)
  checkGolden(t, 'hyperkit-kernel', plan)
  const argv = plan.commands[0]!
  t.equal(argv.at(-1), 'kexec,/o/web-kernel,/o/web-initrd.img,console=ttyS0,115200 page_poison=1', 'the command line may hold commas: it comes last')
  t.same(argv.slice(argv.indexOf('-U'), argv.indexOf('-U') + 2), ['-U', uuid])
  t.same(argv.slice(argv.indexOf('-m'), argv.indexOf('-m') + 2), ['-m', '1024M'])
})

t.test('golden: a root image is a virtio disk; xhyve has no pid file or virtio-rnd', async (t) => {
  const plan = planHyperkit({ ...base, binary: 'xhyve', boot: { ...kernel, initrd: '/o/web-squashfs-initrd.img', root: '/o/web-squashfs.img' } })
  checkGolden(t, 'xhyve-squashfs', plan)
  const argv = plan.commands[0]!
  t.equal(argv[0], 'xhyve')
  t.notOk(argv.includes('-F'))
  t.notOk(argv.includes('2:0,virtio-rnd'))
  t.ok(argv.includes('3:0,virtio-blk,/o/web-squashfs.img'))
})

t.test('golden: hyperkit boots a UEFI ISO or raw disk from the bootrom', async (t) => {
  const iso = planHyperkit({ ...base, boot: { kind: 'iso', path: '/o/web-efi.iso', uefi: true }, firmware: '/fw/UEFI.fd' })
  checkGolden(t, 'hyperkit-efi-iso', iso)
  t.same(iso.commands[0]!.slice(-4), ['-s', '4:0,ahci-cd,/o/web-efi.iso', '-f', 'bootrom,/fw/UEFI.fd'])
  const disk = planHyperkit({ ...base, boot: { kind: 'disk', path: '/o/web-efi.img', format: 'raw', uefi: true }, firmware: '/fw/UEFI.fd' })
  t.same(disk.commands[0]!.slice(-4), ['-s', '3:0,virtio-blk,/o/web-efi.img', '-f', 'bootrom,/fw/UEFI.fd'])
})

t.test('a regression shows as a golden diff', async (t) => {
  t.not(renderPlan(planHyperkit({ ...base, memoryMiB: 2048 })), renderPlan(planHyperkit(base)))
})

t.test('the printed command, read by sh, is the argv; spaces and quotes survive', async (t) => {
  const tricky = { ...kernel, kernel: "/o/my dir/it's $x-kernel", initrd: '/o/my dir/"q"-initrd.img', cmdline: 'console=ttyS0 msg="a b"' }
  const argv = planHyperkit({ ...base, boot: tricky, stateDir: '/o/st ate' }).commands[0]!
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${formatShCommand(argv)}`], { encoding: 'utf8' })
  t.same(out.split('\0').slice(0, -1), argv)
})

t.test('refused: BIOS images, xhyve with an ISO, missing firmware, non-raw disks, commas, bad UUIDs', async (t) => {
  t.throws(() => planHyperkit({ ...base, boot: { kind: 'iso', path: '/o/web.iso', uefi: false }, firmware: '/f' }), /no BIOS/)
  t.throws(() => planHyperkit({ ...base, binary: 'xhyve', boot: { kind: 'iso', path: '/o/web-efi.iso', uefi: true } }), /xhyve boots a kernel\+initrd only/)
  t.throws(() => planHyperkit({ ...base, boot: { kind: 'iso', path: '/o/web-efi.iso', uefi: true } }), /needs a UEFI firmware/)
  t.throws(() => planHyperkit({ ...base, boot: { kind: 'disk', path: '/o/w-efi.qcow2', format: 'qcow2', uefi: true }, firmware: '/f' }), /raw disks, not qcow2/)
  t.throws(() => planHyperkit({ ...base, boot: { ...kernel, kernel: '/o/a,b-kernel' } }), /comma/)
  t.throws(() => planHyperkit({ ...base, uuid: 'nope' }), /not a UUID/)
})
