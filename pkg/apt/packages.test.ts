import t from 'tap'
import { IntegrityError } from '../errors/index.js'
import { buildIndex } from './archive.js'
import { parseDepends, parsePackages, parseProvides } from './packages.js'
import { parseRelease, stripClearsign } from './release.js'

const hash = (c: string): string => c.repeat(64)

const packagesText = `Package: busybox-static
Source: busybox (1:1.35.0-4)
Version: 1:1.35.0-4+b1
Installed-Size: 1953
Maintainer: Debian Installer Team <debian-boot@lists.debian.org>
Architecture: amd64
Replaces: busybox
Provides: busybox
Depends: libc6 (>= 2.34)
Description: Standalone rescue shell with tons of builtin utilities
 BusyBox combines tiny versions of many common UNIX utilities into a single
 small executable.
 .
 Depends: this continuation line is not a field
Built-Using: glibc (= 2.36-9)
Description-md5: 8ed8b4fa5c5b1ed6ba1bb1ef4e2c0c71
Section: shells
Priority: optional
Filename: pool/main/b/busybox/busybox-static_1.35.0-4+b1_amd64.deb
Size: 906400
SHA256: ${hash('A')}

Package: libc6
Version: 2.36-9+deb12u10
Architecture: amd64
Pre-Depends: libgcc-s1
Depends: libgcc-s1,
 libcrypt1 (>= 1:4.4.10-10~)
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb
Size: 2757936
SHA256: ${hash('b')}
Source: glibc

Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Provides: tzdata-bookworm
Filename: pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb
Size: 255000
SHA256: ${hash('c')}

Package: foreign
Version: 1.0
Architecture: i386
Filename: pool/main/f/foreign/foreign_1.0_i386.deb
Size: 1
SHA256: ${hash('d')}

Package: nofile
Version: 1.0
Architecture: amd64
Size: 1
SHA256: ${hash('e')}

Package: badsize
Version: 1.0
Architecture: amd64
Filename: pool/x.deb
Size: lots
SHA256: ${hash('f')}
`

t.test('parsePackages keeps the fields it needs', async (t) => {
  const got = parsePackages(packagesText, { baseUri: 'http://deb.debian.org/debian', suite: 'bookworm', arch: 'amd64' })
  t.same(got.map((p) => p.name), ['busybox-static', 'libc6', 'tzdata'])
  t.same(got[0], {
    name: 'busybox-static',
    version: '1:1.35.0-4+b1',
    architecture: 'amd64',
    filename: 'pool/main/b/busybox/busybox-static_1.35.0-4+b1_amd64.deb',
    sha256: hash('a'),
    size: 906400,
    depends: 'libc6 (>= 2.34)',
    preDepends: '',
    provides: 'busybox',
    source: 'busybox',
    sourceVersion: '1:1.35.0-4',
    baseUri: 'http://deb.debian.org/debian',
    suite: 'bookworm',
  })
  t.equal(got[1]?.depends, 'libgcc-s1, libcrypt1 (>= 1:4.4.10-10~)', 'continuation lines are joined')
  t.equal(got[1]?.preDepends, 'libgcc-s1')
  t.equal(got[1]?.source, 'glibc')
  t.equal(got[1]?.sourceVersion, '2.36-9+deb12u10', 'source version defaults to the version')
  t.equal(got[2]?.architecture, 'all')
  t.equal(got[2]?.source, 'tzdata')

  const everything = parsePackages(packagesText, { baseUri: 'u', suite: 's' })
  t.same(everything.map((p) => p.name), ['busybox-static', 'libc6', 'tzdata', 'foreign'], 'no arch filter without arch')
})

t.test('parsePackages copes with CRLF, no trailing newline, several blank lines', async (t) => {
  const text = `Package: a\r\nVersion: 1\r\nArchitecture: all\r\nFilename: a.deb\r\nSize: 3\r\nSHA256: ${hash('1')}\r\n\r\n\r\n` +
    `Package: b\nVersion: 2\nArchitecture: amd64\nFilename: b.deb\nSize: 4\nSHA256: ${hash('2')}`
  const got = parsePackages(text, { baseUri: 'u', suite: 's', arch: 'amd64' })
  t.same(got.map((p) => [p.name, p.version, p.filename, p.size]), [['a', '1', 'a.deb', 3], ['b', '2', 'b.deb', 4]])
  t.same(parsePackages('', { baseUri: 'u', suite: 's' }), [])
})

t.test('parsePackages is fast on a large index', async (t) => {
  const stanza = (i: number): string => `Package: pkg${i}
Version: 1.${i}-1
Installed-Size: 100
Maintainer: Someone <someone@example.org>
Architecture: amd64
Depends: libc6 (>= 2.34), libfoo${i % 100} | libbar
Description: package number ${i}
 A long description that goes on for a while, as most of them do, and takes
 up most of the bytes of a real Packages file.
 .
 Second paragraph.
Description-md5: 0123456789abcdef0123456789abcdef
Section: misc
Priority: optional
Filename: pool/main/p/pkg${i}/pkg${i}_1.${i}-1_amd64.deb
Size: ${1000 + i}
SHA256: ${hash('a')}

`
  const parts: string[] = []
  for (let i = 0; i < 60000; i++) parts.push(stanza(i))
  const text = parts.join('')
  const start = performance.now()
  const got = parsePackages(text, { baseUri: 'u', suite: 's', arch: 'amd64' })
  const ms = performance.now() - start
  t.equal(got.length, 60000)
  t.comment(`parsed ${(text.length / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms`)
  t.ok(ms < 1500, `parse took ${ms.toFixed(0)} ms`)
})

t.test('parseDepends', async (t) => {
  const { deps, bad } = parseDepends(
    'libc6 (>= 2.34), foo:any | bar (<< 2~) , baz [amd64 !i386] <!nocheck>, qux (> 1), quux(=1.0)')
  t.same(bad, [])
  t.same(deps, [
    [{ name: 'libc6', op: '>=', version: '2.34', text: 'libc6 (>= 2.34)' }],
    [{ name: 'foo', text: 'foo:any' }, { name: 'bar', op: '<<', version: '2~', text: 'bar (<< 2~)' }],
    [{ name: 'baz', archs: ['amd64', '!i386'], profiles: [['!nocheck']], text: 'baz [amd64 !i386] <!nocheck>' }],
    [{ name: 'qux', op: '>=', version: '1', text: 'qux (> 1)' }],
    [{ name: 'quux', op: '=', version: '1.0', text: 'quux(=1.0)' }],
  ])
  t.same(parseDepends('').deps, [])
  t.same(parseDepends('ok, bad (>= ), (x)').bad, ['bad (>= )', '(x)'])
})

t.test('parseProvides', async (t) => {
  t.same(parseProvides('a, b (= 1.0), c:any, d (=2)'), [
    { name: 'a' }, { name: 'b', version: '1.0' }, { name: 'c' }, { name: 'd', version: '2' },
  ])
  t.same(parseProvides(''), [])
})

t.test('buildIndex groups versions, highest first, and maps providers', async (t) => {
  const a = parsePackages(packagesText, { baseUri: 'u1', suite: 'bookworm', arch: 'amd64' })
  const b = parsePackages(packagesText.replace('Version: 2.36-9+deb12u10', 'Version: 2.36-9+deb12u11'),
    { baseUri: 'u2', suite: 'bookworm-security', arch: 'amd64' })
  const index = buildIndex([...a, ...b], 'amd64')
  t.same(index.packages.get('libc6')?.map((p) => [p.version, p.suite]), [
    ['2.36-9+deb12u11', 'bookworm-security'],
    ['2.36-9+deb12u10', 'bookworm'],
  ])
  t.equal(index.packages.get('busybox-static')?.length, 1, 'the same version from two suites is kept once')
  t.same(index.providers.get('busybox')?.map((p) => p.name), ['busybox-static'])
  t.same(index.providers.get('tzdata-bookworm')?.map((p) => p.name), ['tzdata'])
})

const inRelease = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Origin: Debian
Suite: stable
Codename: bookworm
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib
MD5Sum:
 0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages
SHA256:
 ${hash('a')}  1234 main/binary-amd64/Packages
 ${hash('B')}   567 main/binary-amd64/Packages.xz
- -dash-escaped: value
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE
=abcd
-----END PGP SIGNATURE-----
`

t.test('stripClearsign and parseRelease', async (t) => {
  const body = stripClearsign(inRelease, 'InRelease')
  t.notMatch(body, /PGP/)
  t.match(body, /^Origin: Debian\n/)
  t.match(body, /\n-dash-escaped: value\n$/)
  const rel = parseRelease(body, 'InRelease')
  t.equal(rel.acquireByHash, true)
  t.same(rel.components, ['main', 'contrib'])
  t.same(rel.architectures, ['all', 'amd64', 'arm64'])
  t.equal(rel.fields.get('codename'), 'bookworm')
  t.same(rel.sha256.get('main/binary-amd64/Packages'), { sha256: hash('a'), size: 1234 })
  t.same(rel.sha256.get('main/binary-amd64/Packages.xz'), { sha256: hash('b'), size: 567 })
  t.equal(rel.sha256.size, 2, 'MD5Sum lines are ignored')

  t.throws(() => stripClearsign('<html>captive portal</html>', 'X'), IntegrityError)
  t.throws(() => stripClearsign('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: x\n', 'X'), /no signature block/)
  t.throws(() => parseRelease('SHA256:\n nothex 12 path\n', 'X'), /malformed SHA256 line/)
})
