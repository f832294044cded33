import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DebPackage } from '../apt/index.js'
import { UserError } from '../errors/index.js'
import { createLock, lockDrift, parseLock, readLock, renderLock, writeLock } from './lock.js'

const h = (c: string): string => c.repeat(64)
const pkg = (name: string, over: Partial<DebPackage> = {}): DebPackage => ({
  name, version: '1.0-1', architecture: 'amd64', filename: `pool/main/${name[0]}/${name}/${name}_1.0-1_amd64.deb`,
  sha256: h('a'), size: 1234, depends: '', preDepends: '', provides: '', source: name, sourceVersion: '1.0-1',
  baseUri: 'http://deb.debian.org/debian', suite: 'bookworm', ...over,
})
const sources = [
  { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main', 'contrib'], origin: 'a:1' },
  { uri: 'http://deb.debian.org/debian', suite: 'bookworm-updates', components: ['main'], origin: 'a:2' },
  { uri: 'http://deb.debian.org/debian-security', suite: 'bookworm-security', components: ['main'], origin: 'a:3' },
]

t.test('createLock and renderLock: sorted, stable, only the sources that supplied a package', async (t) => {
  const resolved = [
    pkg('zlib1g', { version: '1:1.2.13.dfsg-1', source: 'zlib', sourceVersion: '1:1.2.13.dfsg-1' }),
    pkg('busybox-static', { version: '1:1.35.0-4+b3', source: 'busybox', sourceVersion: '1:1.35.0-4', suite: 'bookworm-security', baseUri: 'http://deb.debian.org/debian-security' }),
    pkg('libc6', { version: '1.0' }),
  ]
  const lock = createLock('amd64', { packages: ['zlib1g', 'busybox-static'], exclude: ['kmod'] }, resolved, sources)
  t.same(lock.packages.map((p) => p.name), ['busybox-static', 'libc6', 'zlib1g'])
  t.same(lock.sources.map((s) => s.suite), ['bookworm', 'bookworm-security'], 'bookworm-updates supplied nothing')
  t.same(lock.request, { packages: ['busybox-static', 'zlib1g'], exclude: ['kmod'] })
  const text = renderLock(lock)
  t.equal(renderLock(createLock('amd64', { packages: ['busybox-static', 'zlib1g'], exclude: ['kmod'] }, [...resolved].reverse(), [...sources].reverse())), text, 'order of input does not matter')
  t.match(text, /^# The Debian packages/)
  t.match(text, /version: "1\.0"\n/, 'a version YAML would read as a number is quoted')
  t.match(text, /version: 1:1\.35\.0-4\+b3\n/, 'and others are left plain')
  t.same(parseLock(text, 'build.lock'), lock, 'round trip')
})

t.test('parseLock reports every problem with file:line:col', async (t) => {
  const good = renderLock(createLock('amd64', { packages: ['a1'], exclude: [] }, [pkg('a1')], sources))
  const cases: Array<[string, string, RegExp]> = [
    ['a path outside the archive', good.replace(/filename: .*/, 'filename: ../../etc/passwd'), /build\.lock:\d+:\d+: packages\[0\]\.filename: must be a path inside the archive/],
    ['a short hash', good.replace(/sha256: a+/, 'sha256: abc'), /packages\[0\]\.sha256: "abc" is not a valid SHA256/],
    ['a negative size', good.replace(/size: \d+/, 'size: -1'), /packages\[0\]\.size: must be a whole number/],
    ['an unknown field', good.replace(/^arch: amd64$/m, 'arch: amd64\nextra: 1'), /extra: unknown field/],
    ['a missing field', good.replace(/^ {4}sha256: .*\n/m, ''), /packages\[0\]: missing field "sha256"/],
    ['a newer format', good.replace('lockVersion: 1', 'lockVersion: 2'), /lockVersion: this keel reads lock version 1/],
    ['not a mapping', '- a\n', /must be a mapping/],
  ]
  for (const [name, text, re] of cases) t.throws(() => parseLock(text, 'build.lock'), re, name)
  const twice = good.replace(/packages:\n(\s+- name: a1[\s\S]*)$/, (_m, item: string) => `packages:\n${item}${item}`)
  t.throws(() => parseLock(twice, 'build.lock'), /a1 \(amd64\) is pinned twice/)
})

t.test('lockDrift names what build.yml added and removed', async (t) => {
  const lock = createLock('amd64', { packages: ['a1', 'b1'], exclude: ['x1'] }, [pkg('a1'), pkg('b1')], sources)
  t.same(lockDrift({ packages: ['b1', 'a1'], exclude: ['x1'] }, lock), [])
  t.same(lockDrift({ packages: ['a1', 'c1'], exclude: [] }, lock), ['packages: adds c1', 'packages: no longer has b1', 'exclude: no longer has x1'])
  t.same(lockDrift({ packages: ['a1', 'b1=2.0'], exclude: ['x1'] }, lock), ['packages: adds b1=2.0', 'packages: no longer has b1'], 'a new pin is a change')
})

t.test('writeLock writes only on change; readLock', async (t) => {
  const dir = t.testdir({})
  t.equal(await readLock(dir), undefined)
  const lock = createLock('amd64', { packages: ['a1'], exclude: [] }, [pkg('a1')], sources)
  t.equal(await writeLock(dir, lock), true)
  t.equal(await writeLock(dir, lock), false, 'same text: not rewritten')
  t.same(await readLock(dir), lock)
  writeFileSync(join(dir, 'build.lock'), readFileSync(join(dir, 'build.lock'), 'utf8').replace('arch: amd64', 'arch: [x]'))
  await t.rejects(readLock(dir), UserError)
  await t.rejects(writeLock(join(dir, 'missing-folder'), lock), /cannot write .*missing-folder\/build\.lock/)
})
