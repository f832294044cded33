import t from 'tap'
import { execFileSync } from 'node:child_process'
import { formatShCommand } from './quote.js'
import { checkGolden, renderPlan } from './testing.js'
import { macFromUuid, planVfkit, type VfkitOptions } from './vfkit.js'

const uuid = '5f3c1e2a-8b7d-4c6e-9a1b-2c3d4e5f6a7b'
const kernel = { kind: 'kernel+initrd' as const, kernel: '/o/web-kernel', initrd: '/o/web-initrd.img', cmdline: 'console=ttyS0,115200' }
const base: VfkitOptions = { boot: kernel, name: 'web', cpus: 2, memoryMiB: 1024, uuid, stateDir: '/o/web-state' }

t.test('golden: a kernel+initrd boots with the linux loader, console=hvc0 added, the command line in double quotes', async (t) => {
  const plan = planVfkit(base)
  checkGolden(t, 'vfkit-kernel', plan)
  const argv = plan.commands[0]!
  t.ok(argv.includes('linux,kernel=/o/web-kernel,initrd=/o/web-initrd.img,cmdline="console=ttyS0,115200 console=hvc0"'))
  t.ok(argv.includes('virtio-serial,stdio'))
  t.ok(argv.includes(`virtio-net,nat,mac=${macFromUuid(uuid)}`))
  t.same(argv.slice(1, 5), ['--cpus', '2', '--memory', '1024'])
})

t.test('console=hvc0 is not added twice', async (t) => {
  const argv = planVfkit({ ...base, boot: { ...kernel, cmdline: 'console=hvc0' } }).commands[0]!
  t.ok(argv.includes('linux,kernel=/o/web-kernel,initrd=/o/web-initrd.img,cmdline="console=hvc0"'))
})

t.test('golden: UEFI images boot with the EFI loader and a variable store in the state folder', async (t) => {
  const disk = planVfkit({ ...base, boot: { kind: 'disk', path: '/o/web-efi.img', format: 'raw', uefi: true } })
  checkGolden(t, 'vfkit-efi-disk', disk)
  t.ok(disk.commands[0]!.includes('efi,variable-store=/o/web-state/efi-variable-store,create'))
  t.ok(disk.commands[0]!.includes('virtio-blk,path=/o/web-efi.img'))
  const iso = planVfkit({ ...base, boot: { kind: 'iso', path: '/o/web-efi.iso', uefi: true } })
  checkGolden(t, 'vfkit-efi-iso', iso)
  t.ok(iso.commands[0]!.includes('usb-mass-storage,path=/o/web-efi.iso,readonly'))
})

t.test('the MAC is stable, unicast and locally administered', async (t) => {
  const mac = macFromUuid(uuid)
  t.equal(mac, macFromUuid(uuid.toUpperCase()))
  t.match(mac, /^02(:[0-9a-f]{2}){5}$/)
  t.not(mac, macFromUuid('00000000-0000-4000-8000-000000000000'))
})

t.test('a regression shows as a golden diff; the printed command reads back as the argv', async (t) => {
  t.not(renderPlan(planVfkit({ ...base, cpus: 4 })), renderPlan(planVfkit(base)))
  const argv = planVfkit({ ...base, boot: { ...kernel, kernel: "/o/my dir/it's $x-kernel" } }).commands[0]!
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${formatShCommand(argv)}`], { encoding: 'utf8' })
  t.same(out.split('\0').slice(0, -1), argv)
})

t.test('refused: BIOS images, non-raw disks, commas or double quotes in paths or the command line', async (t) => {
  t.throws(() => planVfkit({ ...base, boot: { kind: 'disk', path: '/o/web.img', format: 'raw', uefi: false } }), /no BIOS/)
  t.throws(() => planVfkit({ ...base, boot: { kind: 'disk', path: '/o/web.vhdx', format: 'vhdx', uefi: true } }), /raw disks only/)
  t.throws(() => planVfkit({ ...base, boot: { ...kernel, initrd: '/o/a,b' } }), /comma or a double quote/)
  t.throws(() => planVfkit({ ...base, boot: { ...kernel, cmdline: 'a="b"' } }), /double quote/)
})
