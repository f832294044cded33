import t from 'tap'
import { mergeManifests, parseManifest } from './parse.js'
import { dropStrayBlockComments, loadYaml } from './yaml.js'

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

t.test('every problem is reported at once, schema and semantic checks alike', async (t) => {
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
  t.same(err.message.split('\n'), [
    'bad.yml:2:3: kernel.imgae: unknown field; did you mean "image"?',
    'bad.yml:3:7: init: must be a list',
    'bad.yml:5:5: services[0]: missing required field "image"',
    'bad.yml:6:5: services[1]: missing required field "name"',
    'bad.yml:11:1: onbot: unknown field; did you mean "onboot"?',
  ])
  const dup = t.throws(() => parseManifest('services:\n  - name: a\n    image: c\n  - name: a\n    image: d\n', 'd.yml', '/x')) as Error
  t.equal(dup.message, 'd.yml:4:11: services[1].name: duplicate service name "a" (first at d.yml:2)')
})

t.test('onboot names may repeat, as in LinuxKit (each gets its own NNN- folder)', async (t) => {
  const m = parseManifest('onboot:\n  - name: a\n    image: x\n  - name: a\n    image: y\n', 'o.yml', '/')
  t.equal(m.onboot.length, 2)
})

t.test('a stray comment inside a block scalar is dropped only when the YAML is otherwise invalid', async (t) => {
  const broken = 'files:\n  - path: a\n    contents: |\n# dropped\n      kept\n'
  t.same(dropStrayBlockComments(broken), { text: 'files:\n  - path: a\n    contents: |\n      kept\n', removed: [4] })
  const m = parseManifest(broken, 'b.yml', '/')
  t.equal(m.files[0]?.contents, 'kept\n')
  t.match(m.warnings[0], /^b\.yml:4:1: a comment line less indented/)
  const later = t.throws(() => parseManifest(`${broken}  - path: x\n    contents: y\n    mode: bad\n`, 'b.yml', '/')) as Error
  t.match(later.message, /^b\.yml:8:11: files\[1\]\.mode: /, 'positions after the dropped line are those of the file as written')
  const fine = loadYaml('a: |\n  x\n# c\nb: 1\n', 'f.yml')
  t.same(fine.data, { a: 'x\n', b: 1 })
  t.same(fine.warnings, [], 'valid YAML is never rewritten')
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
  t.throws(() => mergeManifests([a, dup]), /c\.yml:2:11: services\[0\]\.name: duplicate service name "getty" \(first at a\.yml:11\)/)
})

t.test('an unquoted octal mode keeps its text, as LinuxKit reads it (its getty package writes mode: 0666)', async (t) => {
  const m = parseManifest(`kernel:
  image: k
services:
  - name: getty
    image: g
    devices:
      - path: /dev/console
        type: c
        major: 5
        minor: 1
        mode: 0666
files:
  - path: etc/x
    contents: "x"
    mode: 0600
`, 'm.yml', '/')
  t.equal((m.services[0]!['devices'] as Array<{ mode?: unknown }>)[0]?.mode, '0666')
  t.equal(m.files[0]!.mode, '0600')
  t.equal((loadYaml('other: 0666\n', 'f.yml').data as { other: unknown }).other, 666, 'other keys keep YAML\'s reading')
  t.throws(() => parseManifest('kernel:\n  image: k\nfiles:\n  - path: a\n    contents: ""\n    mode: 644\n', 'm.yml', '/'), /mode/, 'a mode without its leading zero is still refused')
})
