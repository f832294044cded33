import t, { type Test } from 'tap'
import { hypervPipeName, planHyperv, type HypervOptions } from './hyperv.js'
import { checkGolden, checkPsStructure, compareGolden, readPsSingleQuoted, renderPlan } from './testing.js'
import type { LaunchPlan } from './types.js'

const base: HypervOptions = {
  boot: { kind: 'disk', path: '/out/web-efi.vhdx', format: 'vhdx', uefi: true },
  name: 'web', cpus: 2, memoryMiB: 1024, switchName: 'Default Switch',
}

function script(plan: LaunchPlan): string {
  return Object.values(plan.files)[0]!
}

function golden(t: Test, name: string, plan: LaunchPlan): void {
  checkGolden(t, name, plan)
  t.same(checkPsStructure(script(plan)), [], 'strings, braces and brackets pair up')
}

/** The value a param() default gives, read back as PowerShell would. */
function paramDefault(text: string, param: string): string {
  const m = new RegExp(`^  \\[string\\]\\$${param} = (.*),$`, 'm').exec(text)
  if (!m) throw new Error(`no default for ${param}`)
  return readPsSingleQuoted(m[1]!)
}

t.test('golden: a VHDX is a generation 2 VM, Secure Boot off, booting its SCSI disk', async (t) => {
  const plan = planHyperv(base)
  golden(t, 'hyperv-vhdx', plan)
  t.match(script(plan), /-Generation 2 -MemoryStartupBytes 1024MB/)
  t.match(script(plan), /Set-VMFirmware -VM \$vm -EnableSecureBoot Off -FirstBootDevice \$drive/)
  t.same(Object.keys(plan.files), ['web-hyperv.ps1'])
})

t.test('golden: a VHD is a generation 1 VM booting from IDE', async (t) => {
  const plan = planHyperv({ ...base, boot: { kind: 'disk', path: '/out/web.vhd', format: 'vpc', uefi: false }, cpus: 1, memoryMiB: 512 })
  golden(t, 'hyperv-vhd', plan)
  t.match(script(plan), /-Generation 1 /)
  t.match(script(plan), /-ControllerType IDE -ControllerNumber 0 -ControllerLocation 0/)
  t.notMatch(script(plan), /Set-VMFirmware/)
})

t.test('golden: ISOs: BIOS in generation 1 DVD drive, UEFI in generation 2', async (t) => {
  const bios = planHyperv({ ...base, boot: { kind: 'iso', path: '/out/web.iso', uefi: false }, switchName: '' })
  golden(t, 'hyperv-iso-bios', bios)
  t.match(script(bios), /Set-VMDvdDrive -VMDvdDrive \$dvd\[0\] -Path \$media/)
  t.match(script(bios), /StartupOrder @\('CD'/)
  const efi = planHyperv({ ...base, boot: { kind: 'iso', path: '/out/web-efi.iso', uefi: true } })
  golden(t, 'hyperv-iso-efi', efi)
  t.match(script(efi), /Add-VMDvdDrive -VM \$vm -Path \$media -Passthru/)
})

t.test('a regression shows as a golden diff: other memory is not the golden text', async (t) => {
  const g = compareGolden('hyperv-vhdx', renderPlan(planHyperv(base)))
  t.not(renderPlan(planHyperv({ ...base, memoryMiB: 2048 })), g.expected)
  t.not(renderPlan(planHyperv({ ...base, cpus: 4 })), g.expected)
})

t.test('tricky names and paths are quoted for PowerShell and read back unchanged', async (t) => {
  const name = "it's $HOME `x` ‘q’ [1]"
  const plan = planHyperv({
    ...base, name, switchName: "Bob's \"switch\" $x",
    boot: { kind: 'disk', path: "/o/my disk's $(rm -rf) ‘x’.vhdx", format: 'vhdx', uefi: true },
  })
  golden(t, 'hyperv-tricky', plan)
  const text = script(plan)
  t.equal(paramDefault(text, 'Name'), name)
  t.equal(paramDefault(text, 'SwitchName'), "Bob's \"switch\" $x")
  t.equal(paramDefault(text, 'Image'), "my disk's $(rm -rf) ‘x’.vhdx")
  t.match(text, /^\$PipeName = 'keel-it_s__HOME__x___q___1_-com1'$/m)
  t.equal(hypervPipeName('a b'), 'keel-a_b-com1')
  // Outside comments the name appears once, quoted, in the param block; the rest of the script uses $Name.
  const code = text.split('\n').filter((l) => !l.startsWith('#'))
  t.equal(code.filter((l) => l.includes("it's")).length, 0)
  t.equal(code.filter((l) => l.includes("it''s")).length, 1)
})

t.test('refused: kernel+initrd, other disk formats, a VHD for UEFI, odd memory, bad names', async (t) => {
  t.throws(() => planHyperv({ ...base, boot: { kind: 'kernel+initrd', kernel: '/o/x-kernel', initrd: '/o/x-initrd.img', cmdline: '' } }), /cannot boot a kernel\+initrd/)
  t.throws(() => planHyperv({ ...base, boot: { kind: 'disk', path: '/o/x.qcow2', format: 'qcow2', uefi: false } }), /VHD and VHDX disks, not qcow2/)
  t.throws(() => planHyperv({ ...base, boot: { kind: 'disk', path: '/o/x-efi.vhd', format: 'vpc', uefi: true } }), /generation 2 .* VHDX/)
  t.throws(() => planHyperv({ ...base, memoryMiB: 1025 }), /steps of 2 MiB/)
  t.throws(() => planHyperv({ ...base, name: 'a:b' }), /not a valid folder name/)
  t.throws(() => planHyperv({ ...base, name: 'a\nb' }), /control character/)
  t.throws(() => planHyperv({ ...base, cpus: 0 }), /at least 1/)
})
