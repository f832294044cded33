import t from 'tap'
import { parsePackageSpec, readPackageSpec } from './spec.js'

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
