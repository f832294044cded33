import t from 'tap'
import { expandTagTemplate, parseBuildArg, parsePackageSpec, readPackageSpec } from './spec.js'

t.test('a full build.yml parses', async (t) => {
  const spec = parsePackageSpec(`image: busybox
org: example.com/team
packages: [busybox-static, libc6=2.36-9]
exclude: [kmod]
files:
  - source: passwd
    path: /etc/passwd
    mode: "0644"
  - path: /etc/motd
    contents: "hi\\n"
build:
  - make
config:
  pid: host
`, 'build.yml', '/pkg')
  t.equal(spec.image, 'busybox')
  t.equal(spec.org, 'example.com/team')
  t.same(spec.packages, ['busybox-static', 'libc6=2.36-9'])
  t.same(spec.files, [{ path: '/etc/passwd', source: 'passwd', mode: 0o644 }, { path: '/etc/motd', contents: 'hi\n' }])
  t.same(spec.config, { pid: 'host' })
  t.same(spec.arches, ['amd64'])
  t.equal(parsePackageSpec('image: x\n', 'b.yml', '/d').org, 'keel')
})

t.test('every problem in a build.yml is reported with its place', async (t) => {
  const err = t.throws(() => parsePackageSpec(`imag: x
packages: [Bad Name]
files:
  - path: relative
    source: ../escape
  - path: /a
    contents: x
    source: y
  - path: /b
    mode: 644x
    contents: z
arches: [arm64]
`, 'build.yml', '/d')) as Error
  t.match(err.message.split('\n'), [
    /^build\.yml:1:1: imag: unknown field; did you mean "image"\?$/,
    /^build\.yml:1:1: \(top\): missing required field "image"$/,
    /^build\.yml:2:12: packages\[0\]: "Bad Name" is not a valid Debian package name$/,
    /^build\.yml:4:11: files\[0\]\.path: must be an absolute path/,
    /^build\.yml:5:13: files\[0\]\.source: must be a path inside the package folder$/,
    /^build\.yml:6:5: files\[1\]: needs exactly one of "source" or "contents"$/,
    /^build\.yml:10:11: files\[2\]\.mode: must be an octal string/,
    /^build\.yml:12:9: arches: keel builds amd64 packages only/,
  ])
})

t.test('a folder without build.yml is named', async (t) => {
  const dir = t.testdir({})
  await t.rejects(readPackageSpec(dir), /no build\.yml in this folder/)
})

t.test('extra-sources: LinuxKit\'s "SOURCE:DESTINATION", the source from the package folder', async (t) => {
  const spec = parsePackageSpec('image: x\nextra-sources:\n  - ../common:src/common\n  - ../../vendor:vendor/\n', 'build.yml', '/repo/services/pkg')
  t.same(spec.extraSources, [{ source: '/repo/services/common', dest: 'src/common' }, { source: '/repo/vendor', dest: 'vendor' }])
  t.same(parsePackageSpec('image: x\n', 'build.yml', '/d').extraSources, [], 'none by default')
  const err = t.throws(() => parsePackageSpec('image: x\nextra-sources:\n  - ../common\n  - ../a:/abs\n  - ../b:../out\n  - ../c:build.yml\n', 'build.yml', '/d')) as Error
  t.match(err.message, /build\.yml:3:5: extra-sources\[0\]: must be "SOURCE:DESTINATION"/)
  t.match(err.message, /build\.yml:4:5: extra-sources\[1\]: destination "\/abs" must be a relative path/)
  t.match(err.message, /build\.yml:5:5: extra-sources\[2\]: destination "\.\.\/out"/)
  t.match(err.message, /build\.yml:6:5: extra-sources\[3\]: destination "build\.yml"/)
})

t.test('buildArgs: LinuxKit\'s NAME=VALUE list; the value may hold = and be empty', async (t) => {
  const spec = parsePackageSpec('image: x\nbuildArgs:\n  - VERSION=1.2\n  - FLAGS=-O2 -DX=1\n  - EMPTY=\n', 'build.yml', '/d')
  t.same([...spec.buildArgs], [['VERSION', '1.2'], ['FLAGS', '-O2 -DX=1'], ['EMPTY', '']])
  t.same([...parsePackageSpec('image: x\n', 'build.yml', '/d').buildArgs], [], 'none by default')
  const err = t.throws(() => parsePackageSpec('image: x\nbuildArgs:\n  - NOEQUALS\n  - 1X=a\n  - KEEL_ROOTFS=/\n  - A=1\n  - A=2\nbuildargs: []\n', 'build.yml', '/d')) as Error
  t.match(err.message.split('\n'), [
    /^build\.yml:3:5: buildArgs\[0\]: "NOEQUALS" must be NAME=VALUE$/,
    /^build\.yml:4:5: buildArgs\[1\]: "1X" is not a valid name/,
    /^build\.yml:5:5: buildArgs\[2\]: KEEL_ROOTFS is set by keel itself/,
    /^build\.yml:7:5: buildArgs\[4\]: A is given twice$/,
    /^build\.yml:8:1: buildargs: unknown field; did you mean "buildArgs"\?$/,
  ])
  t.match(t.throws(() => parsePackageSpec('image: x\nbuildArgs: A=1\n', 'build.yml', '/d')), /build\.yml:2:12: buildArgs: must be a list of strings/)
})

t.test('tag: LinuxKit\'s template, which must keep {{.Hash}}', async (t) => {
  t.equal(parsePackageSpec('image: x\n', 'build.yml', '/d').tagTemplate, '{{.Hash}}')
  const spec = parsePackageSpec('image: x\ntag: "v2-{{ .Hash }}"\n', 'build.yml', '/d')
  t.equal(expandTagTemplate(spec.tagTemplate, 'abc'), 'v2-abc')
  for (const [tag, why] of [
    ['latest', /tag: must contain \{\{\.Hash\}\}/],
    ['"{{.Hash}}-{{.Version}}"', /tag: only \{\{\.Hash\}\} may appear/],
    ['"-{{.Hash}}"', /tag: "-\{\{\.Hash\}\}" does not give a valid tag/],
    ['"a/{{.Hash}}"', /tag: "a\/\{\{\.Hash\}\}" does not give a valid tag/],
  ] as const) {
    t.match((t.throws(() => parsePackageSpec(`image: x\ntag: ${tag}\n`, 'build.yml', '/d')) as Error).message, new RegExp(`^build\\.yml:2:6: ${why.source}`), tag)
  }
})

t.test('a --build-arg is checked as a buildArgs entry is', async (t) => {
  t.same(parseBuildArg('A_1=x=y'), { name: 'A_1', value: 'x=y' })
  t.match(parseBuildArg('=x'), /must be NAME=VALUE/)
  t.match(parseBuildArg('SOURCE_DATE_EPOCH=1'), /set by keel itself/)
  t.match(parseBuildArg('A-B=1'), /not a valid name/)
})
