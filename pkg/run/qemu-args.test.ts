import t from 'tap'
import { buildQemuArgs, escapeOption, type BootInput } from './qemu-args.js'
import { parsePublish } from './options.js'

const boot = { kind: 'kernel+initrd' as const, kernel: '/o/x-kernel', initrd: '/o/x-initrd.img', cmdline: 'console=ttyS0' }
const base = { accel: 'tcg' as const, cpus: 1, memoryMiB: 256 }

/** The value after each occurrence of `flag`. */
const valuesOf = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []))

t.test('TCG boots with the console and monitor on stdio (Ctrl-C for the guest) and virtio devices', async (t) => {
  t.same(buildQemuArgs({ boot, accel: 'tcg', cpus: 1, memoryMiB: 1024 }), [
    '-machine', 'q35', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '1', '-m', '1024',
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-chardev', 'stdio,id=console,mux=on,signal=off', '-serial', 'chardev:console', '-mon', 'chardev=console,mode=readline',
    '-device', 'virtio-rng-pci',
    '-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0',
    '-kernel', '/o/x-kernel', '-initrd', '/o/x-initrd.img', '-append', 'console=ttyS0',
  ])
})

t.test('KVM uses the host CPU; -no-reboot and extra arguments when asked', async (t) => {
  const args = buildQemuArgs({ boot, accel: 'kvm', cpus: 2, memoryMiB: 512, noReboot: true, extraArgs: ['-s'] })
  t.same(args.slice(0, 10), ['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-smp', '2', '-m', '512'])
  t.ok(args.includes('-no-reboot'))
  t.equal(args.at(-1), '-s')
})

t.test('networking: user with published ports and a MAC; tap; bridge; none', async (t) => {
  const user = buildQemuArgs({ boot, ...base, mac: '02:00:00:aa:bb:cc', publish: [parsePublish('8080:80'), parsePublish('0.0.0.0:5353:53/udp')] })
  t.same(valuesOf(user, '-netdev'), ['user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-:53'])
  t.same(valuesOf(user, '-device').at(-1), 'virtio-net-pci,netdev=net0,mac=02:00:00:aa:bb:cc')
  const tap = buildQemuArgs({ boot, ...base, networking: { mode: 'tap', ifname: 'tap7' }, mac: '02:00:00:aa:bb:cc' })
  t.same(valuesOf(tap, '-netdev'), ['tap,id=net0,ifname=tap7,script=no,downscript=no'])
  t.same(valuesOf(buildQemuArgs({ boot, ...base, networking: { mode: 'tap' } }), '-netdev'), ['tap,id=net0,script=no,downscript=no'], 'no name: QEMU makes a tap device')
  t.same(valuesOf(buildQemuArgs({ boot, ...base, networking: { mode: 'bridge', bridge: 'br1' } }), '-netdev'), ['bridge,id=net0,br=br1'])
  t.same(valuesOf(buildQemuArgs({ boot, ...base, networking: { mode: 'bridge' } }), '-netdev'), ['bridge,id=net0'], "no name: QEMU's default bridge, br0")
  const none = buildQemuArgs({ boot, ...base, networking: { mode: 'none' }, mac: '02:00:00:aa:bb:cc' })
  t.same(valuesOf(none, '-nic'), ['none'])
  t.same(valuesOf(none, '-netdev'), [])
  t.notOk(none.some((a) => a.includes('virtio-net')), 'no network card at all')
})

t.test('an ISO is a CD-ROM; a disk is virtio in its format; UEFI adds the firmware', async (t) => {
  const iso = buildQemuArgs({ boot: { kind: 'iso', path: '/o/x.iso', uefi: false }, ...base })
  t.same(iso.slice(-4), ['-drive', 'file=/o/x.iso,format=raw,media=cdrom,readonly=on', '-boot', 'd'])
  const disk = buildQemuArgs({
    boot: { kind: 'disk', path: '/o/x-efi.img', format: 'raw', uefi: true }, ...base,
    firmware: { code: '/fw/code.fd', vars: '/tmp/vars.fd' }, disks: [{ path: '/o/data.qcow2', format: 'qcow2' }],
  })
  t.same(disk.slice(-8), [
    '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/code.fd',
    '-drive', 'if=pflash,format=raw,unit=1,file=/tmp/vars.fd',
    '-drive', 'file=/o/x-efi.img,format=raw,if=virtio',
    '-drive', 'file=/o/data.qcow2,format=qcow2,if=virtio',
  ])
})

t.test('a read-only root image is the first virtio disk, before any extra disk', async (t) => {
  const args = buildQemuArgs({
    boot: { ...boot, initrd: '/o/x-squashfs-initrd.img', root: '/o/x-squashfs.img' }, ...base,
    disks: [{ path: '/o/data.img', format: 'raw' }],
  })
  t.same(args.slice(-10), [
    '-kernel', '/o/x-kernel', '-initrd', '/o/x-squashfs-initrd.img', '-append', 'console=ttyS0',
    '-drive', 'file=/o/x-squashfs.img,format=raw,if=virtio,readonly=on',
    '-drive', 'file=/o/data.img,format=raw,if=virtio',
  ])
})

t.test('the metadata CD comes after the boot media, on its own SCSI controller, whatever boots', async (t) => {
  const cd = ['-device', 'virtio-scsi-pci,id=cdscsi', '-drive', 'if=none,id=cd0,file=/s/data.iso,format=raw,media=cdrom,readonly=on', '-device', 'scsi-cd,bus=cdscsi.0,drive=cd0']
  const cases: Array<[string, BootInput, string[]]> = [
    ['kernel+initrd', boot, ['-kernel', '/o/x-kernel', '-initrd', '/o/x-initrd.img', '-append', 'console=ttyS0', ...cd]],
    ['ISO', { kind: 'iso', path: '/o/x.iso', uefi: false }, ['-drive', 'file=/o/x.iso,format=raw,media=cdrom,readonly=on', '-boot', 'd', ...cd]],
    ['disk', { kind: 'disk', path: '/o/x.qcow2', format: 'qcow2', uefi: false }, ['-drive', 'file=/o/x.qcow2,format=qcow2,if=virtio', '-drive', 'file=/o/d.img,format=raw,if=virtio', ...cd]],
  ]
  for (const [what, b, tail] of cases) {
    const args = buildQemuArgs({ boot: b, ...base, cdroms: ['/s/data.iso'], ...(b.kind === 'disk' ? { disks: [{ path: '/o/d.img', format: 'raw' }] } : {}) })
    t.same(args.slice(-tail.length), tail, what)
  }
})

t.test('QMP, pid file, and a detached console: a socket that logs to a file', async (t) => {
  const args = buildQemuArgs({
    boot, ...base, qmpSocket: 'qmp.sock', pidFile: '/s/qemu.pid', daemonize: true,
    console: { socket: 'console.sock', log: '/s/console.log' },
  })
  t.same(valuesOf(args, '-chardev'), ['socket,id=console,path=console.sock,server=on,wait=off,logfile=/s/console.log,logappend=on'])
  t.same(valuesOf(args, '-qmp'), ['unix:qmp.sock,server=on,wait=off'])
  t.same(valuesOf(args, '-pidfile'), ['/s/qemu.pid'])
  t.ok(args.includes('-daemonize'))
  t.notOk(buildQemuArgs({ boot, ...base }).some((a) => a === '-daemonize' || a === '-qmp' || a === '-pidfile'), 'none of them unless asked')
})

t.test('commas in paths are doubled, as QEMU option values need', async (t) => {
  t.equal(escapeOption('/a,b/c,,d'), '/a,,b/c,,,,d')
  const args = buildQemuArgs({ boot: { kind: 'disk', path: '/o/a,b.img', format: 'raw', uefi: false }, ...base, cdroms: ['/s,t/data.iso'] })
  t.same(valuesOf(args, '-drive'), ['file=/o/a,,b.img,format=raw,if=virtio', 'if=none,id=cd0,file=/s,,t/data.iso,format=raw,media=cdrom,readonly=on'])
})

t.test('fw_cfg items, before any extra arguments', async (t) => {
  const args = buildQemuArgs({ boot, ...base, fwCfg: [{ name: 'opt/keel/userdata', file: '/d/u,1.json' }], extraArgs: ['-s'] })
  t.same(args.slice(-3), ['-fw_cfg', 'name=opt/keel/userdata,file=/d/u,,1.json', '-s'])
})
