// The choice of what to boot among a build's outputs is tested through its
// user, pkg/report/boot.test.ts (chooseBootInput); here, the cost order and
// the archive names on their own.
import t from 'tap'
import { archiveReason, bootCost, bootPaths, cheapestBoot } from './outputs.js'
import type { BootInput } from './qemu-args.js'

t.test('bootCost: kernel+initrd < root on a disk < BIOS images < UEFI images', async (t) => {
  const inputs: BootInput[] = [
    { kind: 'kernel+initrd', kernel: 'k', initrd: 'i', cmdline: '' },
    { kind: 'kernel+initrd', kernel: 'k', initrd: 'i', cmdline: '', root: 'r' },
    { kind: 'disk', path: 'd', format: 'raw', uefi: false },
    { kind: 'iso', path: 'i', uefi: false },
    { kind: 'disk', path: 'd', format: 'qcow2', uefi: false },
    { kind: 'disk', path: 'd', format: 'vmdk', uefi: false },
    { kind: 'disk', path: 'd', format: 'raw', uefi: true },
    { kind: 'iso', path: 'i', uefi: true },
    { kind: 'disk', path: 'd', format: 'vhdx', uefi: true },
  ]
  const costs = inputs.map(bootCost)
  t.same(costs, [...costs].sort((a, b) => a - b), 'in this order')
  t.equal(new Set(costs).size, costs.length, 'no two the same')
})

t.test('archives are named by their file names; a raw disk is none', async (t) => {
  t.match(archiveReason('/a/x.img.tar.gz'), /Compute Engine upload/)
  t.match(archiveReason('/a/x-initrd.tar'), /kernel, initrd and command line in a tar/)
  t.equal(archiveReason('/a/x.raw'), undefined, 'an AWS raw disk is no archive')
})

t.test('the cheapest boot, and the files a boot reads', async (t) => {
  const disk: BootInput = { kind: 'disk', path: 'd', format: 'raw', uefi: false }
  const kernel: BootInput = { kind: 'kernel+initrd', kernel: 'k', initrd: 'i', cmdline: '', root: 'r' }
  t.same(cheapestBoot([disk, kernel]), kernel)
  t.equal(cheapestBoot([]), undefined)
  t.same(bootPaths(kernel), ['k', 'i', 'r'])
  t.same(bootPaths(disk), ['d'])
})
