// End to end: examples/static-ip.yml. Its onboot container sets eth0's
// address and default route with busybox ip; a service merged in for the
// test prints what eth0 has, then the poweroff
// package ends the boot.
import t from 'tap'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel, repoRoot } from '../helpers/keel-cli.js'

const work = mkdtempSync(join(tmpdir(), 'keel-static-ip-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

const checks = `
services:
  - name: check
    image: "@pkg:${repoRoot}images/busybox"
    keel:
      restart: never
    command:
      - /bin/sh
      - -c
      - |
        ip -4 -o addr show dev eth0 | awk '{print "address " $4}'
        ip route show default | sed 's/^/route /'
  - name: poweroff
    image: "@pkg:${repoRoot}services/poweroff"
    command: ["/bin/sh", "/poweroff.sh", "5"]
`

t.test('examples/static-ip.yml sets eth0 to 10.0.2.15/24 via 10.0.2.2', async (t) => {
  const example = await keel(['build', '-o', work, 'examples/static-ip.yml'])
  t.equal(example.code, 0, `the example builds as it is\n${example.stderr}`)
  t.comment(`static-ip-initrd.img: ${(statSync(join(work, 'static-ip-initrd.img')).size / 1048576).toFixed(1)} MiB`)
  const extra = join(work, 'checks.yml')
  writeFileSync(extra, checks)
  const build = await keel(['build', '-o', work, '-n', 'static-ip-test', 'examples/static-ip.yml', extra])
  t.equal(build.code, 0, `keel build succeeds with the checks added\n${build.stderr}`)

  const b = await bootAndWatch(join(work, 'static-ip-test'), [
    'ip: eth0: 10.0.2.15/24, default route via 10.0.2.2',
    /onboot ip done \(exit 0\)/,
    'reboot: Power down',
  ], { timeoutMs: 200_000, args: ['--mem', '512'] })
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `the onboot container sets the address, then a clean power-off${b.missing ? `; never saw: ${b.missing}` : ''}`)
  for (const line of ['check: address 10.0.2.15/24', 'check: route default via 10.0.2.2 dev eth0']) {
    t.ok(b.console.includes(line), line)
  }
  // Negative control: another address is not what the console shows.
  const control = new ConsoleMatcher(['check: address 10.0.2.16/24'])
  control.push(`${b.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the matcher can fail')
})
