// End to end: examples/minimal.yml is built with the real keel command (its
// packages from the Debian archive), booted under QEMU, and must print a line
// from its onboot container and from its service, then power off cleanly.
import t from 'tap'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-minimal-'))
const expected = [
  'hello from an onboot container',
  'hello from a service',
  'reboot: Power down',
]

t.test('examples/minimal.yml builds, boots, greets twice and powers off', async (t) => {
  const build = await keel(['build', '-o', out, 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  for (const suffix of ['kernel', 'initrd.img', 'cmdline']) {
    t.ok(statSync(join(out, `minimal-${suffix}`)).size > 0, `minimal-${suffix} written`)
  }
  t.same(build.stdout.trim().split('\n').sort(), ['cmdline', 'initrd.img', 'kernel', 'sbom.spdx.json'].map((s) => join(out, `minimal-${s}`)), 'prints what it wrote')

  const boot = await bootAndWatch(join(out, 'minimal'), expected, { timeoutMs: 180_000 })
  if (!boot.ok) t.comment(`console:\n${boot.console}\nstderr:\n${boot.stderr}`)
  t.ok(boot.ok, `every expected line came${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.equal(boot.timedOut, false, 'the guest powered off by itself')
  t.equal(boot.code, 0, 'keel run exits 0 after a clean power-off')

  // Negative control: the same console, checked for a line the image never
  // prints, must fail and name that line.
  const control = new ConsoleMatcher([...expected.slice(0, 1), 'a line this image never prints'])
  control.push(`${boot.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the check can fail')
  t.equal(control.result().missing, 'a line this image never prints')
})
