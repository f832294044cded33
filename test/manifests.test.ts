// Manifests end to end through `keel validate`: LinuxKit's own examples are
// accepted unchanged; each manifest in fixtures/invalid-manifests gets exactly
// the problems its .expected file lists, at the right positions, exit 1.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keelInProcess, type InProcessResult } from './helpers/keel-io.js'

const fixtures = new URL('./fixtures/', import.meta.url).pathname

const keel = (args: string[], cwd: string, stdin = ''): Promise<InProcessResult> => keelInProcess(args, { cwd, stdin })


t.test('every LinuxKit example manifest validates unchanged', async (t) => {
  const dir = join(fixtures, 'linuxkit-examples')
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()
  t.equal(files.length, 33)
  for (const f of files) {
    const r = await keel(['validate', f], dir)
    t.equal(r.code, 0, `${f} is valid${r.out ? `:\n${r.out}` : ''}`)
    t.equal(r.out, '', `${f}: no problems printed`)
  }
  const all = await keel(['validate', ...files.filter((f) => f.startsWith('platform-') && !f.includes('arm64'))], dir)
  t.not(all.code, 0, 'merging several platform manifests is refused: each has its own services of the same names')
})

t.test('every keel example validates, and each is boot-tested somewhere', async (t) => {
  const dir = new URL('../examples/', import.meta.url).pathname
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()
  t.ok(files.length >= 8)
  const boot = new URL('./boot/', import.meta.url).pathname
  const cases = new URL('./cases/', import.meta.url).pathname
  // Every file under test/boot and test/cases, nested case groups included.
  const texts = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? texts(join(dir, e.name)) : e.isFile() ? [readFileSync(join(dir, e.name), 'utf8')] : [])
  const tests = [...texts(boot), ...texts(cases)].join('\n')
  for (const f of files) {
    const r = await keel(['validate', f], dir)
    t.equal(r.code, 0, `examples/${f} is valid${r.out ? `:\n${r.out}` : ''}`)
    t.ok(tests.includes(`examples/${f}`), `examples/${f} is named by a boot test or case`)
  }
})

t.test('a manifest LinuxKit itself cannot parse is read as its author meant, with a warning', async (t) => {
  const r = await keel(['build', '--dry-run', 'static-ip.yml'], join(fixtures, 'linuxkit-examples'))
  t.equal(r.code, 0)
  t.match(r.err, /static-ip\.yml:27:1: a comment line less indented than the block scalar/)
  t.match(r.out, /contents: \|\n {6}nameserver 10\.10\.1\.101\n/)
})

const invalid = join(fixtures, 'invalid-manifests')
for (const file of readdirSync(invalid).filter((f) => f.endsWith('.yml')).sort()) {
  t.test(`invalid manifest ${file}`, async (t) => {
    const expected = readFileSync(join(invalid, file.replace(/\.yml$/, '.expected')), 'utf8')
    const r = await keel(['validate', file], invalid)
    t.equal(r.code, 1, 'exit 1')
    t.equal(r.out, expected, 'exactly the expected problems, in order')
    t.match(r.err, /keel: error: \d+ problems? in /)
  })
}

t.test('keel build refuses an invalid manifest the same way, before any work', async (t) => {
  const r = await keel(['build', '-o', t.testdir({}), 'bad-fields.yml'], invalid)
  t.equal(r.code, 1)
  t.equal(r.err.replace(/^keel: error: /, ''), readFileSync(join(invalid, 'bad-fields.expected'), 'utf8'))
})

t.test('merging: problems across files, names from other files, stdin', async (t) => {
  const dir = t.testdir({
    'a.yml': 'services:\n  - name: web\n    image: nginx:1\n    uid: db\n',
    'b.yml': 'services:\n  - name: db\n    image: postgres:16\n  - name: web\n    image: nginx:2\n',
  })
  const r = await keel(['validate', 'a.yml', 'b.yml'], dir)
  t.equal(r.out, 'b.yml:4:11: services[1].name: duplicate service name "web" (first at a.yml:2)\n', 'uid: db resolves across files; the duplicate does not')
  const stdin = await keel(['validate', 'a.yml', '-'], dir, 'services:\n  - name: db\n    image: postgres:16\n')
  t.equal(stdin.code, 0, 'a file and stdin merge')
  const merged = await keel(['build', '--dry-run', 'a.yml', '-'], dir, 'kernel:\n  image: linuxkit/kernel:6\n  cmdline: quiet\nservices:\n  - name: db\n    image: postgres:16\n')
  t.equal(merged.code, 0)
  t.equal(merged.out, 'kernel:\n  image: linuxkit/kernel:6\n  cmdline: quiet\nservices:\n  - name: web\n    image: nginx:1\n    uid: db\n  - name: db\n    image: postgres:16\n')
})

t.test('deep nesting and multi-megabyte files are refused with a message', async (t) => {
  const dir = t.testdir({
    'deep.yml': `services: ${'['.repeat(300)}${']'.repeat(300)}\n`,
    'huge.yml': `# ${'x'.repeat(9 * 1024 * 1024)}\n`,
  })
  const deep = await keel(['validate', 'deep.yml'], dir)
  t.equal(deep.code, 1)
  t.match(deep.out, /^deep\.yml:1:\d+: nested deeper than 64 levels\n$/)
  const huge = await keel(['validate', 'huge.yml'], dir)
  t.equal(huge.code, 1)
  t.match(huge.out, /^huge\.yml: \d+ bytes is larger than the 8388608-byte limit/)
})

t.test('trust: is accepted and ignored with a warning', async (t) => {
  const dir = t.testdir({ 'm.yml': 'trust:\n  org:\n    - linuxkit\n' })
  const r = await keel(['validate', 'm.yml'], dir)
  t.equal(r.code, 0)
  t.match(r.err, /warning: m\.yml:2:3: trust: image signature trust is not supported; the section is ignored/)
})
