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
