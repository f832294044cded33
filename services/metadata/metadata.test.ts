// Builds metadata (static, musl) and runs its C unit tests: the JSON
// reader, LinuxKit's user-data format written out as files, the fw_cfg,
// file and CD-ROM providers over made-up sysfs and /dev trees, module
// lookup in modules.dep. The boot test is test/boot/metadata.test.ts.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = dirname(fileURLToPath(import.meta.url))
const src = join(pkg, 'src')
const work = mkdtempSync(join(tmpdir(), 'keel-metadata-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

const make = (...args: string[]) => spawnSync('make', ['-s', '-C', src, `O=${work}`, ...args], { encoding: 'utf8', timeout: 300_000 })

/** A static ELF has no program interpreter (PT_INTERP) and no dynamic section. */
function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false
  const phoff = Number(buf.readBigUInt64LE(0x20))
  const phentsize = buf.readUInt16LE(0x36)
  const phnum = buf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const type = buf.readUInt32LE(phoff + i * phentsize)
    if (type === 2 || type === 3) return false
  }
  return true
}

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
  let plan: number | undefined
  let passed = 0
  const failed: string[] = []
  for (const line of r.stdout.split('\n')) {
    const m = /^1\.\.(\d+)$/.exec(line)
    if (m) plan = Number(m[1])
    else if (/^ok \d+/.test(line)) passed++
    else if (/^not ok \d+/.test(line)) failed.push(line)
  }
  t.ok(plan !== undefined && plan > 100, `a TAP plan (${plan})`)
  t.equal(passed, plan, 'every planned test passed')
  t.same(failed, [], 'no "not ok" lines')
})

t.test('the shared common/ code comes in through extra-sources', async (t) => {
  t.ok(lstatSync(join(src, 'common')).isSymbolicLink(), 'src/common is a link to ../../common')
  t.match(readFileSync(join(pkg, 'build.yml'), 'utf8'), /extra-sources:\n\s+- \.\.\/common:src\/common\n/, 'build.yml copies it in')
})
