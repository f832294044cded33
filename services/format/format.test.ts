// Builds format and mountie (static, musl) and runs their C unit tests:
// option parsing, the emptiness and file system probes, partition tables,
// which disk each picks. The code both share is services/common, linked
// from each src/ and copied into each package's build by extra-sources.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isStaticElf, parseTap } from '../../test/helpers/c-tests.js'

const services = dirname(dirname(fileURLToPath(import.meta.url)))
const work = mkdtempSync(join(tmpdir(), 'keel-format-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))



for (const [pkg, prog] of [['format', 'format'], ['mount', 'mountie']] as const) {
  t.test(`services/${pkg}`, async (t) => {
    const src = join(services, pkg, 'src')
    const out = join(work, pkg)
    const make = (...args: string[]) => spawnSync('make', ['-s', '-C', src, `O=${out}`, ...args], { encoding: 'utf8', timeout: 300_000 })

    const built = make()
    t.equal(built.status, 0, `make builds ${prog}`, { stderr: built.stderr })
    const bin = join(out, prog)
    t.ok(isStaticElf(readFileSync(bin)), `${prog} is a static binary`)
    t.ok(statSync(bin).size < 200 * 1024, `${prog} is small (${statSync(bin).size} bytes)`)
    const help = spawnSync(bin, ['-help'], { encoding: 'utf8' })
    t.equal(help.status, 0, '-help exits 0')
    t.match(help.stdout, new RegExp(`^Usage: ${prog} `), 'and prints usage')
    const bad = spawnSync(bin, ['-no-such-flag'], { encoding: 'utf8' })
    t.equal(bad.status, 2, 'an unknown flag exits 2')
    t.match(bad.stderr, /flag provided but not defined: -no-such-flag/, 'as Go words it')

    const r = make('test')
    t.equal(r.status, 0, 'make test exits 0', { stderr: r.stderr })
    const tap = parseTap(r.stdout)
    t.ok(tap.plan !== undefined && tap.plan > 0, `a TAP plan (${tap.plan})`)
    t.equal(tap.ok, tap.plan, 'every planned test passed')
    t.same(tap.notOk, [], 'no "not ok" lines')
  })
}

t.test('format and mount build the shared common/ code through extra-sources', async (t) => {
  for (const pkg of ['format', 'mount']) {
    t.ok(lstatSync(join(services, pkg, 'src', 'common')).isSymbolicLink(), `${pkg}/src/common is a link to ../../common`)
    t.match(readFileSync(join(services, pkg, 'build.yml'), 'utf8'), /extra-sources:\n\s+- \.\.\/common:src\/common\n/, `${pkg}/build.yml copies it in`)
  }
  t.ok(readdirSync(join(services, 'common')).includes('probe.c'), 'the shared code is in services/common')
})
