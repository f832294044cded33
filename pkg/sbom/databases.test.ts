import t from 'tap'
import { MAX_DATABASE_BYTES } from './types.js'
import { distroFromOsRelease, isPackageDatabasePath, packageDatabasePaths, packagesFromDatabases, parseOsRelease } from './databases.js'

const b = (s: string): Buffer => Buffer.from(s, 'utf8')

const debianOsRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

t.test('the paths to collect', async (t) => {
  t.ok(packageDatabasePaths.exact.includes('var/lib/dpkg/status'))
  t.ok(packageDatabasePaths.exact.includes('lib/apk/db/installed'))
  t.same(packageDatabasePaths.prefixes, ['var/lib/dpkg/status.d/'])
  for (const p of [...packageDatabasePaths.exact, ...packageDatabasePaths.prefixes]) t.notOk(p.startsWith('/'), p)
  t.ok(isPackageDatabasePath('var/lib/dpkg/status.d/libc6'))
  t.ok(isPackageDatabasePath('/var/lib/dpkg/status'))
  t.notOk(isPackageDatabasePath('var/lib/dpkg/status-old'))
})

t.test('dpkg status, status.d and os-release together', async (t) => {
  const files = new Map<string, Buffer>([
    ['var/lib/dpkg/status.d/libc6', b('Package: libc6\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\n')],
    ['var/lib/dpkg/status.d/libc6.md5sums', b('0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libc.so.6\n')],
    ['var/lib/dpkg/status.d/base-files', b('Package: base-files\nVersion: 12.4+deb12u7\nArchitecture: amd64\n')],
    ['var/lib/dpkg/status.d/sub/ignored', b('Package: nested\nVersion: 1\n')],
    ['/var/lib/dpkg/status', b('Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n\n' +
      'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\n\n' +
      'Package: old\nStatus: deinstall ok config-files\nVersion: 1\n')],
    ['var/lib/dpkg/status-old', b('Package: stale\nVersion: 1\n')],
    ['etc/passwd', b('root:x:0:0::/root:/bin/sh\n')],
    ['./etc/os-release', b(debianOsRelease)],
  ])
  t.same(packagesFromDatabases(files), [
    { type: 'deb', name: 'base-files', version: '12.4+deb12u7', architecture: 'amd64', vendor: 'debian', distro: 'debian-12' },
    { type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', architecture: 'amd64', source: 'glibc', vendor: 'debian', distro: 'debian-12' },
    { type: 'deb', name: 'tzdata', version: '2024a-0+deb12u1', architecture: 'all', vendor: 'debian', distro: 'debian-12' },
  ])
})

t.test('order of the map does not matter; no os-release leaves vendor and distro out', async (t) => {
  const entries: Array<[string, Buffer]> = [
    ['lib/apk/db/installed', b('P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r29\nA:x86_64\no:busybox\n')],
    ['var/lib/dpkg/status', b('Package: zz\nVersion: 1\n\nPackage: aa\nVersion: 2\nArchitecture: arm64\n\nPackage: aa\nVersion: 2\nArchitecture: amd64\n')],
  ]
  const one = packagesFromDatabases(new Map(entries))
  const two = packagesFromDatabases(new Map([...entries].reverse()))
  t.same(one, two)
  t.same(one.map((p) => `${p.type}/${p.name}@${p.version}:${p.architecture ?? ''}`),
    ['apk/busybox@1.36.1-r29:x86_64', 'apk/musl@1.2.5-r0:x86_64', 'deb/aa@2:amd64', 'deb/aa@2:arm64', 'deb/zz@1:'])
  t.notOk(one.some((p) => p.vendor !== undefined || p.distro !== undefined))
  t.same(packagesFromDatabases(new Map()), [])
  t.same(packagesFromDatabases(new Map([['etc/os-release', b(debianOsRelease)]])), [])
})

t.test('Alpine and Ubuntu os-release', async (t) => {
  const alpine = packagesFromDatabases(new Map([
    ['lib/apk/db/installed', b('P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n')],
    ['usr/lib/os-release', b('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n')],
  ]))
  t.same(alpine, [{ type: 'apk', name: 'musl', version: '1.2.5-r0', architecture: 'x86_64', source: 'musl', vendor: 'alpine', distro: 'alpine-3.20.3' }])
  t.same(distroFromOsRelease(parseOsRelease('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n')),
    { type: 'deb', vendor: 'ubuntu', distro: 'ubuntu-24.04' })
  t.same(distroFromOsRelease(parseOsRelease('ID=debian\nVERSION_CODENAME=trixie\n')),
    { type: 'deb', vendor: 'debian', distro: 'trixie' })
  t.same(distroFromOsRelease(parseOsRelease('ID=wolfi\nVERSION_ID=20230201\n')),
    { type: 'apk', vendor: 'wolfi', distro: 'wolfi-20230201' })
  t.equal(distroFromOsRelease(parseOsRelease('NAME=nothing\n')), undefined)
  t.same(parseOsRelease('# c\nA="x \\"y\\""\nB=\'z\'\nbad\n'), new Map([['A', 'x "y"'], ['B', 'z']]))
})

t.test('oversized databases are refused, naming the file', async (t) => {
  const big = Buffer.alloc(MAX_DATABASE_BYTES + 1, 0x61)
  t.throws(() => packagesFromDatabases(new Map([['var/lib/dpkg/status.d/huge', big]])),
    { name: 'UserError', message: /^var\/lib\/dpkg\/status\.d\/huge: .*64 MiB/ })
  const many = b('Package: p\nVersion: 1\n\n'.repeat(60_000))
  t.throws(() => packagesFromDatabases(new Map([['var/lib/dpkg/status', many], ['var/lib/dpkg/status.d/x', many]])),
    { name: 'UserError', message: /^var\/lib\/dpkg\/status\.d\/x: more than 100000 packages/ })
})
