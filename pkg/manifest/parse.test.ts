import t from 'tap'
import { mergeManifests, parseManifest } from './parse.js'

const good = `kernel:
  image: linuxkit/kernel:6.6
  cmdline: console=ttyS0
init:
  - linuxkit/init:v1
  - "@pkg:../images/init"
onboot:
  - name: sysctl
    image: linuxkit/sysctl:v1
services:
  - name: getty
    image: linuxkit/getty:v1
    env:
      - INSECURE=true
`

t.test('a good manifest parses, with @pkg: paths made absolute', async (t) => {
  const m = parseManifest(good, 'm.yml', '/work/examples')
  t.equal(m.kernel?.image, 'linuxkit/kernel:6.6')
  t.equal(m.kernel?.cmdline, 'console=ttyS0')
  t.same(m.init, ['linuxkit/init:v1', '@pkg:/work/images/init'])
  t.equal(m.onboot[0]?.name, 'sysctl')
  t.same(m.services[0]?.['env'], ['INSECURE=true'])
  t.same(m.origins.get('services[0]'), { file: 'm.yml', line: 12, col: 12, path: 'services[0].image' })
})

t.test('every problem is reported at once with file:line:col and path', async (t) => {
  const bad = `kernel:
  imgae: x
init: nope
services:
  - name: a
  - image: b
  - name: a
    image: c
  - name: a
    image: d
onbot: []
`
  const err = t.throws(() => parseManifest(bad, 'bad.yml', '/x')) as Error
  const lines = err.message.split('\n')
  t.match(lines, [
    /^bad\.yml:2:3: kernel\.imgae: unknown field; did you mean "image"\?$/,
    /^bad\.yml:3:7: init: must be a list/,
    /^bad\.yml:5:5: services\[0\]: missing required field "image"$/,
    /^bad\.yml:6:5: services\[1\]: missing required field "name"$/,
    /^bad\.yml:7:11: services\[2\]\.name: duplicate name "a" in services$/,
    /^bad\.yml:9:11: services\[3\]\.name: duplicate name "a" in services$/,
    /^bad\.yml:11:1: onbot: unknown field; did you mean "onboot"\?$/,
  ])
  t.equal(lines.length, 7)
})

t.test('YAML syntax errors name the place', async (t) => {
  t.throws(() => parseManifest('kernel: [\n', 'x.yml', '/'), /^x\.yml:\d+:\d+: /)
  t.throws(() => parseManifest('a: 1\na: 2\n', 'x.yml', '/'), /x\.yml:2:1: .*[Uu]nique/)
})

t.test('an alias bomb is refused, not expanded', async (t) => {
  let doc = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
  for (let i = 1; i < 12; i++) doc += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]\n`
  t.throws(() => parseManifest(doc, 'bomb.yml', '/'), /bomb\.yml: .*alias/i)
})

t.test('very deep nesting and huge files are refused with a message', async (t) => {
  const deep = 'a: ' + '['.repeat(200) + ']'.repeat(200) + '\n'
  t.throws(() => parseManifest(deep, 'deep.yml', '/'), /deep\.yml:1:\d+: nested deeper than/)
  const huge = `# ${'x'.repeat(9 * 1024 * 1024)}\n`
  t.throws(() => parseManifest(huge, 'huge.yml', '/'), /huge\.yml: \d+ bytes is larger than/)
})

t.test('an empty manifest and a non-mapping are refused', async (t) => {
  t.throws(() => parseManifest('', 'e.yml', '/'), /e\.yml:1:1: \(top\): the manifest is empty/)
  t.throws(() => parseManifest('- a\n', 'l.yml', '/'), /must be a mapping/)
})

t.test('merging: kernel fields replaced by later non-empty ones, lists concatenated', async (t) => {
  const a = parseManifest(good, 'a.yml', '/w')
  const b = parseManifest('kernel:\n  cmdline: quiet\nservices:\n  - name: sshd\n    image: linuxkit/sshd:v1\n', 'b.yml', '/w')
  const m = mergeManifests([a, b])
  t.equal(m.kernel?.image, 'linuxkit/kernel:6.6')
  t.equal(m.kernel?.cmdline, 'quiet')
  t.same(m.services.map((s) => s.name), ['getty', 'sshd'])
  t.equal(m.origins.get('services[1]')?.file, 'b.yml')
  const dup = parseManifest('services:\n  - name: getty\n    image: x\n', 'c.yml', '/w')
  t.throws(() => mergeManifests([a, dup]), /c\.yml:3:12: services: duplicate name "getty" \(first at a\.yml:12\)/)
})
