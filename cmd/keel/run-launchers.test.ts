import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../../pkg/log/index.js'
import { parseVmx } from '../../pkg/run/launchers/index.js'
import type { CliIO } from './io.js'
import { run } from './main.js'
import { launcherUsage } from './run-launchers.js'

function io(cwd: string): CliIO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const stderr = { write: (s: string) => err.push(s) }
  return { out, err, cwd, env: {}, stdout: { write: (s: string) => out.push(s) }, stderr, readStdin: async () => '', log: createLogger('info', stderr) }
}

const images = {
  'web-efi.vhdx': 'vhdx', 'web.vmdk': 'vmdk', 'web-efi.iso': 'iso',
  'web-kernel': 'k', 'web-initrd.img': 'i', 'web-cmdline': 'console=ttyS0\n',
}

t.test('every launcher has --help on stdout with exit 0, saying it is not boot-tested', async (t) => {
  for (const name of Object.keys(launcherUsage)) {
    const a = io('/')
    t.equal(await run(a, ['run', name, '--help']), 0, name)
    t.match(a.out.join(''), new RegExp(`^usage: keel run ${name} `))
    t.match(a.out.join(''), /not boot-tested/)
  }
  const b = io('/')
  t.equal(await run(b, ['run', '--help']), 0)
  t.match(b.out.join(''), /hyperv\|hyperkit\|xhyve\|vfkit\|virtualbox\|vmware/)
})

t.test('an unknown backend, a bad option or no image is a usage error', async (t) => {
  const a = io('/')
  t.equal(await run(a, ['run', 'bochs', 'x']), 2)
  t.match(a.err.join(''), /unknown run backend "bochs"/)
  const b = io('/')
  t.equal(await run(b, ['run', 'hyperv', '--firmware', 'x', 'y']), 2, 'hyperv has no --firmware')
  const c = io('/')
  t.equal(await run(c, ['run', 'vmware']), 2)
})

t.test('hyperv: the script on stdout, notes on stderr; -o writes it', async (t) => {
  const dir = t.testdir(images)
  const a = io(dir)
  t.equal(await run(a, ['run', 'hyperv', '--mem', '2048', '--cpus', '2', 'web-efi.vhdx']), 0, a.err.join(''))
  t.match(a.out.join(''), /New-VM -Name \$Name -Generation 2 -MemoryStartupBytes 2048MB/)
  t.match(a.out.join(''), /\[string\]\$Name = 'web',/)
  t.match(a.err.join(''), /named pipe/)
  const b = io(dir)
  t.equal(await run(b, ['run', 'hyperv', '-o', 'vm.ps1', '--switch', 'External', 'web-efi.vhdx']), 0)
  t.equal(b.out.join(''), `${join(dir, 'vm.ps1')}\n`)
  t.match(readFileSync(join(dir, 'vm.ps1'), 'utf8'), /\$SwitchName = 'External'/)
})

t.test('hyperv refuses a kernel+initrd with a hint', async (t) => {
  const dir = t.testdir(images)
  const a = io(dir)
  t.equal(await run(a, ['run', 'hyperv', 'web']), 1)
  t.match(a.err.join(''), /cannot boot a kernel\+initrd directly[\s\S]*hint: build/)
})

t.test('virtualbox: -o writes an executable script that sh -n accepts', async (t) => {
  const dir = t.testdir(images)
  const a = io(dir)
  t.equal(await run(a, ['run', 'virtualbox', '-o', 'vm.sh', '--serial', 'socket', 'web.vmdk']), 0)
  const file = join(dir, 'vm.sh')
  t.equal(statSync(file).mode & 0o111, 0o111)
  execFileSync('sh', ['-n', file])
  t.match(readFileSync(file, 'utf8'), /--uartmode1 server/)
})

t.test('vmware: a VM folder with the .vmx and a copy of the disk; vmrun on stdout; never over an old one', async (t) => {
  const dir = t.testdir(images)
  const a = io(dir)
  t.equal(await run(a, ['run', 'vmware', '--product', 'ws', 'web.vmdk']), 0, a.err.join(''))
  const vm = join(dir, 'web-vmware')
  t.equal(a.out.join(''), `vmrun -T ws start ${join(vm, 'web.vmx')} nogui\n`)
  t.equal(parseVmx(readFileSync(join(vm, 'web.vmx'), 'utf8')).get('sata0:0.fileName'), 'web.vmdk')
  t.equal(readFileSync(join(vm, 'web.vmdk'), 'utf8'), 'vmdk')
  const b = io(dir)
  t.equal(await run(b, ['run', 'vmware', 'web.vmdk']), 1)
  t.match(b.err.join(''), /exists already/)
})

t.test('hyperkit and vfkit --print: the command; the UUID is kept in the state folder', async (t) => {
  const dir = t.testdir(images)
  const a = io(dir)
  t.equal(await run(a, ['run', 'hyperkit', '--print', 'web']), 0, a.err.join(''))
  const uuid = readFileSync(join(dir, 'web-state', 'uuid'), 'utf8').trim()
  const argv = a.out.join('').trim().split(' ')
  t.equal(argv[0], 'hyperkit')
  t.equal(argv[argv.indexOf('-U') + 1], uuid)
  t.equal(argv.at(-1), `kexec,${dir}/web-kernel,${dir}/web-initrd.img,console=ttyS0`)
  const b = io(dir)
  t.equal(await run(b, ['run', 'hyperkit', '--print', 'web']), 0)
  t.equal(b.out.join(''), a.out.join(''), 'the same UUID, so the same MAC, next time')
  const c = io(dir)
  t.equal(await run(c, ['run', 'vfkit', '--print', '--state', 'st', 'web-efi.iso']), 0, c.err.join(''))
  t.match(c.out.join(''), new RegExp(`--bootloader efi,variable-store=${dir}/st/efi-variable-store,create`))
  const d = io(dir)
  t.equal(await run(d, ['run', 'xhyve', '--print', '--uuid', '5f3c1e2a-8b7d-4c6e-9a1b-2c3d4e5f6a7b', 'web-efi.iso']), 1)
  t.match(d.err.join(''), /xhyve boots a kernel\+initrd only/)
})
