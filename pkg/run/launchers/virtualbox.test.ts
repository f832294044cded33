import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkGolden, renderPlan } from './testing.js'
import type { LaunchPlan } from './types.js'
import { planVirtualBox, type VirtualBoxOptions } from './virtualbox.js'

const base: VirtualBoxOptions = {
  boot: { kind: 'disk', path: '/out/web.vmdk', format: 'vmdk', uefi: false },
  name: 'web', cpus: 2, memoryMiB: 1024, serial: 'file',
}

function script(plan: LaunchPlan): string {
  return Object.values(plan.files)[0]!
}

function shSyntax(t: Test, text: string): void {
  t.doesNotThrow(() => execFileSync('sh', ['-n'], { input: text }), 'sh -n accepts it')
}

t.test('golden: a VMDK disk with BIOS, COM1 to a file, headless', async (t) => {
  const plan = planVirtualBox(base)
  checkGolden(t, 'virtualbox-vmdk', plan)
  shSyntax(t, script(plan))
  t.match(script(plan), /--firmware bios/)
  t.match(script(plan), /--memory 1024 --cpus 2/)
  t.match(script(plan), /--uartmode1 file "\$dir\/console\.log"/)
})

t.test('golden: a raw UEFI disk is converted to VDI; an ISO served its console on a socket', async (t) => {
  const raw = planVirtualBox({ ...base, boot: { kind: 'disk', path: '/out/web-efi.img', format: 'raw', uefi: true } })
  checkGolden(t, 'virtualbox-raw-efi', raw)
  shSyntax(t, script(raw))
  t.match(script(raw), /--firmware efi/)
  t.match(script(raw), /convertfromraw "\$image" "\$dir\/\$media" --format VDI/)
  t.match(script(raw), /^media=web-efi\.vdi$/m)
  const iso = planVirtualBox({ ...base, boot: { kind: 'iso', path: '/out/web.iso', uefi: false }, serial: 'socket' })
  checkGolden(t, 'virtualbox-iso-socket', iso)
  shSyntax(t, script(iso))
  t.match(script(iso), /--type dvddrive/)
  t.match(script(iso), /--uartmode1 server "\$dir\/console\.sock"/)
  t.match(script(iso), /--boot1 dvd/)
})

t.test('a regression shows as a golden diff', async (t) => {
  t.not(renderPlan(planVirtualBox({ ...base, memoryMiB: 2048 })), renderPlan(planVirtualBox(base)))
})

// A stand-in VBoxManage that records each call's argv (fields split by \x1f,
// calls by \x1e) and does the little the script relies on: createvm makes the
// VM folder, convertfromraw and clonemedium make their output file.
const fakeVBoxManage = `#!/bin/sh
for a in "$@"; do printf '%s\\037' "$a"; done >> "$LOG"
printf '\\036' >> "$LOG"
case "$1" in
  createvm) mkdir -p "$7/$3" ;;
  convertfromraw) : > "$3" ;;
  clonemedium) : > "$4" ;;
esac
`

t.test('run against a stand-in VBoxManage, a tricky name and path reach it unchanged', async (t) => {
  const name = "it's $HOME `x` [q] & ;"
  const dir = t.testdir({ 'my images': { "web's $1 disk.vmdk": 'disk' }, base: {} })
  const image = join(dir, 'my images', "web's $1 disk.vmdk")
  const plan = planVirtualBox({ ...base, name, boot: { kind: 'disk', path: image, format: 'vmdk', uefi: false } })
  checkGolden(t, 'virtualbox-tricky', { ...plan, files: Object.fromEntries(Object.entries(plan.files).map(([k, v]) => [k, v.replace(dir, '/TESTDIR')])) })
  const file = join(dir, 'vm.sh')
  writeFileSync(file, script(plan))
  const fake = join(dir, 'VBoxManage')
  writeFileSync(fake, fakeVBoxManage)
  chmodSync(fake, 0o755)
  const log = join(dir, 'log')
  const env = { PATH: process.env['PATH'], HOME: dir, VBOXMANAGE: fake, KEEL_VBOX_BASEFOLDER: join(dir, 'base'), LOG: log }
  execFileSync('sh', [file], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  const calls = readFileSync(log, 'utf8').split('\x1e').slice(0, -1).map((c) => c.split('\x1f').slice(0, -1))
  const vmDir = join(dir, 'base', name)
  t.same(calls, [
    ['createvm', '--name', name, '--ostype', 'Linux_64', '--basefolder', join(dir, 'base'), '--register'],
    ['modifyvm', name, '--firmware', 'bios', '--memory', '1024', '--cpus', '2', '--acpi', 'on', '--ioapic', 'on', '--rtcuseutc', 'on',
      '--nic1', 'nat', '--nictype1', 'virtio', '--uart1', '0x3F8', '4', '--uartmode1', 'file', join(vmDir, 'console.log'),
      '--boot1', 'disk', '--boot2', 'none', '--boot3', 'none', '--boot4', 'none'],
    ['storagectl', name, '--name', 'SATA', '--add', 'sata', '--controller', 'IntelAhci', '--portcount', '1', '--bootable', 'on'],
    ['storageattach', name, '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', join(vmDir, "web's $1 disk.vmdk")],
    ['startvm', name, '--type', 'headless'],
  ])
  t.equal(readFileSync(join(vmDir, "web's $1 disk.vmdk"), 'utf8'), 'disk', 'the VM has its own copy of the image')
  writeFileSync(log, '')
  execFileSync('sh', [file, '--remove'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  t.same(readFileSync(log, 'utf8').split('\x1e').slice(0, -1).map((c) => c.split('\x1f').slice(0, -1)), [
    ['controlvm', name, 'poweroff'],
    ['unregistervm', name, '--delete'],
  ])
  t.notOk(existsSync(vmDir), '--remove deletes the VM folder')
  t.ok(existsSync(image), '--remove leaves the build output alone')
})

t.test('refused: kernel+initrd and unknown disk formats', async (t) => {
  t.throws(() => planVirtualBox({ ...base, boot: { kind: 'kernel+initrd', kernel: '/k', initrd: '/i', cmdline: '' } }), /cannot boot/)
  t.throws(() => planVirtualBox({ ...base, boot: { kind: 'disk', path: '/o/x.bin', format: 'bochs', uefi: false } }), /cannot use a bochs disk/)
  t.throws(() => planVirtualBox({ ...base, name: 'a/b' }), /not a valid folder name/)
})
