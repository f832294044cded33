// Builds metadata (static, musl) and runs its C unit tests: the JSON
// reader, LinuxKit's user-data format written out as files, the fw_cfg,
// file and CD-ROM providers over made-up sysfs and /dev trees, module
// lookup in modules.dep. The boot tests are the keel test cases in
// test/cases/080_metadata.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isStaticElf, parseTap } from '../../test/helpers/c-tests.js'

const pkg = dirname(fileURLToPath(import.meta.url))
const src = join(pkg, 'src')
const work = mkdtempSync(join(tmpdir(), 'keel-metadata-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

const make = (...args: string[]) => spawnSync('make', ['-s', '-C', src, `O=${work}`, ...args], { encoding: 'utf8', timeout: 300_000 })


t.test('metadata builds static and small', async (t) => {
  const built = make()
  t.equal(built.status, 0, 'make builds metadata', { stderr: built.stderr })
  const bin = join(work, 'metadata')
  t.ok(isStaticElf(readFileSync(bin)), 'metadata is a static binary')
  t.ok(statSync(bin).size < 200 * 1024, `metadata is small (${statSync(bin).size} bytes)`)
  const help = spawnSync(bin, ['-help'], { encoding: 'utf8' })
  t.equal(help.status, 0, '-help exits 0')
  t.match(help.stdout, /^Usage: metadata /, 'and prints usage')
  const bad = spawnSync(bin, ['-no-such-flag'], { encoding: 'utf8' })
  t.equal(bad.status, 2, 'an unknown flag exits 2')
  t.match(bad.stderr, /flag provided but not defined: -no-such-flag/, 'as Go words it')
  const provider = spawnSync(bin, ['cdrom', 'floppy'], { encoding: 'utf8' })
  t.equal(provider.status, 2, 'an unknown provider exits 2')
  t.match(provider.stderr, /unknown provider "floppy"/, 'and names it')
})

t.test('the C unit tests pass', async (t) => {
  const r = make('test')
  t.equal(r.status, 0, 'make test exits 0', { stderr: r.stderr })
  const tap = parseTap(r.stdout)
  t.ok(tap.plan !== undefined && tap.plan > 100, `a TAP plan (${tap.plan})`)
  t.equal(tap.ok, tap.plan, 'every planned test passed')
  t.same(tap.notOk, [], 'no "not ok" lines')
})

t.test('the shared common/ code comes in through extra-sources', async (t) => {
  t.ok(lstatSync(join(src, 'common')).isSymbolicLink(), 'src/common is a link to ../../common')
  t.match(readFileSync(join(pkg, 'build.yml'), 'utf8'), /extra-sources:\n\s+- \.\.\/common:src\/common\n/, 'build.yml copies it in')
})
