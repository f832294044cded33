import t from 'tap'
import { buildQemuArgs } from './qemu-args.js'

const boot = { kind: 'kernel+initrd' as const, kernel: '/o/x-kernel', initrd: '/o/x-initrd.img', cmdline: 'console=ttyS0' }

t.test('TCG boots with the console on stdio and virtio devices', async (t) => {
  t.same(buildQemuArgs({ boot, accel: 'tcg', cpus: 1, memoryMiB: 1024 }), [
    '-machine', 'q35', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '1', '-m', '1024',
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'mon:stdio',
    '-device', 'virtio-rng-pci', '-nic', 'user,model=virtio-net-pci',
    '-kernel', '/o/x-kernel', '-initrd', '/o/x-initrd.img', '-append', 'console=ttyS0',
  ])
})

t.test('KVM uses the host CPU; -no-reboot and extra arguments when asked', async (t) => {
  const args = buildQemuArgs({ boot, accel: 'kvm', cpus: 2, memoryMiB: 512, noReboot: true, extraArgs: ['-s'] })
  t.same(args.slice(0, 10), ['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-smp', '2', '-m', '512'])
  t.ok(args.includes('-no-reboot'))
  t.equal(args.at(-1), '-s')
})

t.test('an ISO is a CD-ROM; a disk is virtio in its format; UEFI adds the firmware', async (t) => {
  const iso = buildQemuArgs({ boot: { kind: 'iso', path: '/o/x.iso', uefi: false }, accel: 'tcg', cpus: 1, memoryMiB: 256 })
  t.same(iso.slice(-4), ['-drive', 'file=/o/x.iso,media=cdrom,readonly=on', '-boot', 'd'])
  const disk = buildQemuArgs({
    boot: { kind: 'disk', path: '/o/x-efi.img', format: 'raw', uefi: true }, accel: 'tcg', cpus: 1, memoryMiB: 256,
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
    boot: { ...boot, initrd: '/o/x-squashfs-initrd.img', root: '/o/x-squashfs.img' }, accel: 'tcg', cpus: 1, memoryMiB: 256,
    disks: [{ path: '/o/data.img', format: 'raw' }],
  })
  t.same(args.slice(-10), [
    '-kernel', '/o/x-kernel', '-initrd', '/o/x-squashfs-initrd.img', '-append', 'console=ttyS0',
    '-drive', 'file=/o/x-squashfs.img,format=raw,if=virtio,readonly=on',
    '-drive', 'file=/o/data.img,format=raw,if=virtio',
  ])
})
