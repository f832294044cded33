import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { MAX_DATABASE_BYTES, MAX_PACKAGES } from './types.js'
import { parseDpkgStatus, splitSource } from './dpkg.js'

const hostStatus = '/var/lib/dpkg/status'

t.test('the host dpkg status file', { skip: existsSync(hostStatus) ? false : 'no /var/lib/dpkg/status' }, async (t) => {
  const text = readFileSync(hostStatus, 'utf8')
  const pkgs = parseDpkgStatus(text)
  t.ok(pkgs.length > 10, `found ${pkgs.length} packages`)
  const dpkg = pkgs.find((p) => p.name === 'dpkg')
  t.ok(dpkg, 'dpkg is installed')
  t.equal(dpkg?.type, 'deb')
  t.match(dpkg?.version, /^[0-9][A-Za-z0-9.+~:-]*$/)
  t.ok(dpkg?.architecture, 'dpkg has an architecture')
  let want: string | undefined
  try {
    want = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'dpkg'], { encoding: 'utf8' })
  } catch {
    want = undefined
  }
  if (want !== undefined) t.equal(dpkg?.version, want, 'same version as dpkg-query reports')
  // Every kept package is installed per dpkg-query too.
  let listed: string | undefined
  try {
    listed = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Package}:${Architecture} ${Version}\n'], {
      encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
    })
  } catch {
    listed = undefined
  }
  if (listed !== undefined) {
    const installed = listed.split('\n').filter((l) => l.startsWith('installed ')).map((l) => l.slice('installed '.length)).sort()
    const ours = pkgs.map((p) => `${p.name}:${p.architecture ?? ''} ${p.version}`).sort()
    t.same(ours, installed, 'the same packages as dpkg-query lists as installed')
  }
  for (const p of pkgs) {
    t.notOk(p.version.includes('\n'), 'single-line versions')
    if (p.sourceVersion !== undefined) t.ok(p.source, 'a source version comes with a source name')
  }
})

t.test('distroless status.d stanza without Status', async (t) => {
  const text = [
    'Package: libc6',
    'Version: 2.36-9+deb12u7',
    'Architecture: amd64',
    'Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>',
    'Installed-Size: 12986',
    'Source: glibc',
    'Section: libs',
    'Priority: optional',
    'Multi-Arch: same',
    'Homepage: https://www.gnu.org/software/libc/libc.html',
    'Description: GNU C Library: Shared libraries',
    ' Contains the standard libraries that are used by nearly all programs on',
    ' the system.',
  ].join('\n') // no final newline
  t.same(parseDpkgStatus(text), [
    { type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', architecture: 'amd64', source: 'glibc' },
  ])
})

t.test('only installed packages are kept by default', async (t) => {
  const text = `Package: gone
Status: deinstall ok config-files
Version: 1.0-1
Architecture: amd64

Package: here
Status: install ok installed
Version: 2.0-1
Architecture: all

Package: half
Status: install reinstreq half-installed
Version: 3.0-1

Package: pending
Status: install ok triggers-pending
Version: 4.0-1

Package: purged
Status: purge ok not-installed
Version: 5.0-1

Package: unpacked
Status: install ok unpacked
Version: 6.0-1
`
  t.same(parseDpkgStatus(text).map((p) => p.name), ['here', 'pending'])
  t.same(parseDpkgStatus(text, { installedOnly: true }).map((p) => p.name), ['here', 'pending'])
  t.same(parseDpkgStatus(text, { installedOnly: false }).map((p) => p.name),
    ['gone', 'here', 'half', 'pending', 'purged', 'unpacked'])
})

t.test('Source with and without a version; epochs kept', async (t) => {
  const text = `Package: libpam-modules
Status: install ok installed
Architecture: amd64
Source: pam (1.5.2-6+deb12u1)
Version: 1.5.2-6+deb12u1

Package: busybox-static
Status: install ok installed
Source: busybox (1:1.35.0-4)
Version: 1:1.35.0-4+b1
Architecture: amd64

Package: bash
Status: install ok installed
Version: 5.2.15-2+b7
Source: bash (  5.2.15-2  )
Architecture: amd64

Package: coreutils
Status: install ok installed
Version: 9.1-1
Source: coreutils
`
  t.same(parseDpkgStatus(text), [
    { type: 'deb', name: 'libpam-modules', version: '1.5.2-6+deb12u1', architecture: 'amd64', source: 'pam', sourceVersion: '1.5.2-6+deb12u1' },
    { type: 'deb', name: 'busybox-static', version: '1:1.35.0-4+b1', architecture: 'amd64', source: 'busybox', sourceVersion: '1:1.35.0-4' },
    { type: 'deb', name: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', source: 'bash', sourceVersion: '5.2.15-2' },
    { type: 'deb', name: 'coreutils', version: '9.1-1', source: 'coreutils' },
  ])
  t.same(splitSource('glibc'), { name: 'glibc', version: undefined })
  t.same(splitSource('glibc (2.36-9'), { name: 'glibc', version: '2.36-9' })
})

t.test('format tolerance: CRLF, blank lines of spaces, continuation lines, case, junk', async (t) => {
  const text = [
    '',
    '',
    'package: one',
    'STATUS: install ok installed',
    'Description: first line',
    ' Version: 9.9 is a continuation, not a field',
    ' .',
    'Version: 1.0',
    'not a field line',
    '   \t',
    'Package: no-version',
    'Status: install ok installed',
    '',
    'Version: 1.0',
    'Status: install ok installed',
    '',
    'Package:two',
    'Version:2.0',
    'Architecture:   arm64   ',
    '',
    '',
  ].join('\r\n')
  t.same(parseDpkgStatus(text), [
    { type: 'deb', name: 'one', version: '1.0' },
    { type: 'deb', name: 'two', version: '2.0', architecture: 'arm64' },
  ])
  t.same(parseDpkgStatus(''), [])
  t.same(parseDpkgStatus('\n\n\n'), [])
})

t.test('bounds: size and package count, naming the file', async (t) => {
  t.throws(() => parseDpkgStatus('x'.repeat(MAX_DATABASE_BYTES + 1), { file: 'var/lib/dpkg/status' }),
    { name: 'UserError', message: /var\/lib\/dpkg\/status: .*larger than 64 MiB/ })
  const many = 'Package: p\nVersion: 1\n\n'.repeat(MAX_PACKAGES + 1)
  t.throws(() => parseDpkgStatus(many, { file: 'var/lib/dpkg/status.d/big' }),
    { name: 'UserError', message: /var\/lib\/dpkg\/status\.d\/big: more than 100000 packages/ })
  t.equal(parseDpkgStatus('Package: p\nVersion: 1\n\n'.repeat(MAX_PACKAGES)).length, MAX_PACKAGES)
})
