// examples/minimal.yml built with the real keel command (its packages from
// the Debian archive): the files it writes and the list it prints. Booting
// it (both greetings, then a clean power-off) is the boot-test case
// test/cases/000_minimal, run by test/boot/cases.test.ts.
import t from 'tap'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-minimal-'))

t.test('examples/minimal.yml builds kernel+initrd and prints what it wrote', async (t) => {
  const build = await keel(['build', '-o', out, 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  for (const suffix of ['kernel', 'initrd.img', 'cmdline']) {
    t.ok(statSync(join(out, `minimal-${suffix}`)).size > 0, `minimal-${suffix} written`)
  }
  t.same(build.stdout.trim().split('\n').sort(), ['cmdline', 'initrd.img', 'kernel', 'sbom.spdx.json'].map((s) => join(out, `minimal-${s}`)), 'prints what it wrote')
})
