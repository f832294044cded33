import t from 'tap'
import { parseVmx, planVmware, quoteVmx, type VmwareOptions } from './vmware.js'
import { checkGolden, renderPlan } from './testing.js'
import type { LaunchPlan } from './types.js'

const base: VmwareOptions = {
  boot: { kind: 'disk', path: '/out/web.vmdk', format: 'vmdk', uefi: false },
  name: 'web', cpus: 2, memoryMiB: 1024, product: 'ws', dir: '/vms/web',
}

function vmx(plan: LaunchPlan): Map<string, string> {
  return parseVmx(Object.values(plan.files)[0]!)
}

t.test('golden: a VMDK with BIOS, SATA, vmxnet3 and COM1 to a file', async (t) => {
  const plan = planVmware(base)
  checkGolden(t, 'vmware-vmdk', plan)
  const v = vmx(plan)
  t.equal(v.get('memsize'), '1024')
  t.equal(v.get('numvcpus'), '2')
  t.equal(v.get('sata0:0.fileName'), 'web.vmdk')
  t.equal(v.get('serial0.fileName'), 'console.log')
  t.notOk(v.has('firmware'))
  t.same(plan.copies, [{ from: '/out/web.vmdk', to: 'web.vmdk' }])
  t.same(plan.commands, [['vmrun', '-T', 'ws', 'start', '/vms/web/web.vmx', 'nogui']])
  t.ok(Object.values(plan.files)[0]!.startsWith('.encoding = "UTF-8"\n'), '.encoding comes first')
})

t.test('golden: a UEFI ISO gets EFI firmware, Secure Boot off, a CD-ROM image', async (t) => {
  const plan = planVmware({ ...base, boot: { kind: 'iso', path: '/out/web-efi.iso', uefi: true }, product: 'fusion' })
  checkGolden(t, 'vmware-iso-efi', plan)
  const v = vmx(plan)
  t.equal(v.get('firmware'), 'efi')
  t.equal(v.get('uefi.secureBoot.enabled'), 'FALSE')
  t.equal(v.get('sata0:0.deviceType'), 'cdrom-image')
})

t.test('a regression shows as a golden diff', async (t) => {
  t.not(renderPlan(planVmware({ ...base, memoryMiB: 2048 })), renderPlan(planVmware(base)))
})

t.test('tricky names: quotes and bars are |XX-escaped and parse back unchanged', async (t) => {
  t.equal(quoteVmx('a"b|c'), '"a|22b|7Cc"')
  const name = "it's \"web\" | $HOME"
  const plan = planVmware({ ...base, name: name.replace(/[|"]/g, '_'), boot: { ...base.boot, kind: 'disk', path: '/o/my "disk" | x.vmdk', format: 'vmdk', uefi: false } })
  checkGolden(t, 'vmware-tricky', plan)
  t.equal(vmx(plan).get('sata0:0.fileName'), 'my "disk" | x.vmdk')
  t.equal(vmx(plan).get('displayName'), "it's _web_ _ $HOME")
})

t.test('the vmx parser rejects what VMware would not read', async (t) => {
  t.throws(() => parseVmx('a = "1"\na = "2"\n'), /set twice/)
  t.throws(() => parseVmx('a = 1\n'), /not key = "value"/)
  t.throws(() => parseVmx('a = "x"y"\n'), /not key = "value"/)
})

t.test('refused: kernel+initrd, non-VMDK disks, memory not a multiple of 4', async (t) => {
  t.throws(() => planVmware({ ...base, boot: { kind: 'kernel+initrd', kernel: '/k', initrd: '/i', cmdline: '' } }), /cannot boot/)
  t.throws(() => planVmware({ ...base, boot: { kind: 'disk', path: '/o/x.qcow2', format: 'qcow2', uefi: false } }), /VMDK disks, not qcow2/)
  t.throws(() => planVmware({ ...base, memoryMiB: 1026 }), /steps of 4 MiB/)
})
