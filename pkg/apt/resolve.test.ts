import t from 'tap'
import { UserError } from '../errors/index.js'
import { buildIndex, type ArchiveIndex } from './archive.js'
import type { DebPackage } from './packages.js'
import { resolvePackages } from './resolve.js'

interface Spec {
  depends?: string
  preDepends?: string
  provides?: string
  arch?: string
}

function pkg(name: string, version: string, spec: Spec = {}): DebPackage {
  return {
    name, version, architecture: spec.arch ?? 'amd64',
    filename: `pool/${name}_${version}.deb`, sha256: 'a'.repeat(64), size: 1,
    depends: spec.depends ?? '', preDepends: spec.preDepends ?? '', provides: spec.provides ?? '',
    source: name, sourceVersion: version, baseUri: 'http://example/debian', suite: 'test',
  }
}

function index(...pkgs: DebPackage[]): ArchiveIndex {
  return buildIndex(pkgs, 'amd64')
}

const names = (l: DebPackage[]): string[] => l.map((p) => `${p.name}=${p.version}`)

function catchError(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}

t.test('transitive Depends and Pre-Depends, sorted result, highest version', async (t) => {
  const idx = index(
    pkg('zed', '1', { depends: 'beta (>= 1), alpha' }),
    pkg('alpha', '1.0'),
    pkg('alpha', '2.0', { preDepends: 'gamma' }),
    pkg('beta', '1:0.5'),
    pkg('gamma', '3'),
    pkg('unrelated', '1'),
  )
  t.same(names(resolvePackages(idx, ['zed'])), ['alpha=2.0', 'beta=1:0.5', 'gamma=3', 'zed=1'])
})

t.test('version constraints choose the highest version that fits; pins', async (t) => {
  const idx = index(
    pkg('app', '1', { depends: 'lib (<< 2)' }),
    pkg('lib', '1.0'), pkg('lib', '1.5'), pkg('lib', '2.0'),
    pkg('other', '1', { depends: 'lib (= 1.0)' }),
  )
  t.same(names(resolvePackages(idx, ['app'])), ['app=1', 'lib=1.5'])
  t.same(names(resolvePackages(idx, ['other'])), ['lib=1.0', 'other=1'])
  t.same(names(resolvePackages(idx, ['app', 'lib=1.0'])), ['app=1', 'lib=1.0'])
  t.same(names(resolvePackages(idx, ['lib=1.5'])), ['lib=1.5'])
  t.same(names(resolvePackages(idx, ['lib:amd64'])), ['lib=2.0'])
  const err = catchError(() => resolvePackages(idx, ['lib=9']))
  t.ok(err instanceof UserError)
  t.match(err.message, /"lib" has no version 9; available: 2\.0, 1\.5, 1\.0/)
})

t.test('alternatives: first satisfiable, or one already chosen', async (t) => {
  const idx = index(
    pkg('x', '1', { depends: 'missing | alt1 | alt2' }),
    pkg('alt1', '1'),
    pkg('alt2', '1'),
    pkg('y', '1', { depends: 'alt2' }),
    pkg('z', '1', { depends: 'old (>= 2) | alt2' }),
    pkg('old', '1'),
  )
  t.same(names(resolvePackages(idx, ['x'])), ['alt1=1', 'x=1'], 'first satisfiable alternative')
  t.same(names(resolvePackages(idx, ['x', 'alt2'])), ['alt2=1', 'x=1'], 'an already chosen alternative')
  t.same(names(resolvePackages(idx, ['x', 'y'])), ['alt2=1', 'x=1', 'y=1'], 'chosen later by a plain dependency')
  t.same(names(resolvePackages(idx, ['y', 'x'])), ['alt2=1', 'x=1', 'y=1'], 'order of requests does not matter here')
  t.same(names(resolvePackages(idx, ['z'])), ['alt2=1', 'z=1'], 'an alternative whose version does not fit is passed over')
})

t.test('Provides: virtual packages and versioned provides', async (t) => {
  const idx = index(
    pkg('needs-mta', '1', { depends: 'mail-transport-agent' }),
    pkg('postfix', '3', { provides: 'mail-transport-agent' }),
    pkg('exim4-daemon-light', '4', { provides: 'mail-transport-agent' }),
    pkg('needs-api', '1', { depends: 'api (>= 2)' }),
    pkg('api-old', '1', { provides: 'api (= 1)' }),
    pkg('api-new', '1', { provides: 'api (= 3)' }),
    pkg('api-unversioned', '1', { provides: 'api' }),
    pkg('needs-api-any', '1', { depends: 'api' }),
    pkg('needs-real', '1', { depends: 'realvirt' }),
    pkg('realvirt', '1'),
    pkg('provides-realvirt', '1', { provides: 'realvirt' }),
  )
  t.same(names(resolvePackages(idx, ['needs-mta'])), ['exim4-daemon-light=4', 'needs-mta=1'], 'first provider by name')
  t.same(names(resolvePackages(idx, ['needs-mta', 'postfix'])), ['needs-mta=1', 'postfix=3'], 'a chosen provider')
  t.same(names(resolvePackages(idx, ['needs-api'])), ['api-new=1', 'needs-api=1'], 'versioned provides')
  t.same(names(resolvePackages(idx, ['needs-api-any'])), ['api-new=1', 'needs-api-any=1'])
  t.same(names(resolvePackages(idx, ['needs-real'])), ['needs-real=1', 'realvirt=1'], 'a real package is preferred')
  t.same(names(resolvePackages(idx, ['mail-transport-agent'])), ['exim4-daemon-light=4'], 'a requested virtual name')
  const err = catchError(() => resolvePackages(index(
    pkg('a', '1', { depends: 'api (>= 1)' }), pkg('p', '1', { provides: 'api' }),
  ), ['a']))
  t.match(err.message, /cannot satisfy "api \(>= 1\)" needed by a: available: p 1 \(provides api\)/,
    'an unversioned Provides does not satisfy a versioned dependency')
})

t.test('exclude: real and virtual names count as satisfied', async (t) => {
  const idx = index(
    pkg('linux-image', '6.1', { depends: 'kmod, linux-base, initramfs-tools | linux-initramfs-tool' }),
    pkg('kmod', '30'),
    pkg('linux-base', '4.9'),
    pkg('initramfs-tools', '0.142', { provides: 'linux-initramfs-tool' }),
    pkg('dracut', '059', { provides: 'linux-initramfs-tool' }),
    pkg('needs-tool', '1', { depends: 'linux-initramfs-tool' }),
  )
  t.same(names(resolvePackages(idx, ['linux-image'])), ['initramfs-tools=0.142', 'kmod=30', 'linux-base=4.9', 'linux-image=6.1'])
  t.same(names(resolvePackages(idx, ['linux-image'], { exclude: ['kmod', 'linux-base', 'initramfs-tools'] })),
    ['linux-image=6.1'], 'an excluded alternative satisfies the dependency')
  t.same(names(resolvePackages(idx, ['linux-image'], { exclude: ['kmod', 'linux-base', 'linux-initramfs-tool'] })),
    ['linux-image=6.1'], 'an excluded virtual name satisfies the dependency')
  t.same(names(resolvePackages(idx, ['needs-tool'], { exclude: ['initramfs-tools'] })), ['needs-tool=1'],
    'an excluded provider satisfies a virtual dependency')
  t.same(names(resolvePackages(idx, ['linux-image'], { exclude: ['kmod', 'linux-base'] })),
    ['initramfs-tools=0.142', 'linux-image=6.1'])
  const err = catchError(() => resolvePackages(idx, ['kmod'], { exclude: ['kmod'] }))
  t.match(err.message, /both requested and excluded/)
})

t.test('cycles terminate', async (t) => {
  const idx = index(
    pkg('a', '1', { depends: 'b' }),
    pkg('b', '1', { depends: 'c, a (>= 1)' }),
    pkg('c', '1', { preDepends: 'a' }),
    pkg('self', '1', { depends: 'self' }),
  )
  t.same(names(resolvePackages(idx, ['a'])), ['a=1', 'b=1', 'c=1'])
  t.same(names(resolvePackages(idx, ['self'])), ['self=1'])
})

t.test('architecture qualifiers, restrictions and build profiles', async (t) => {
  const idx = index(
    pkg('a', '1', { depends: 'b:any, c [i386], d [!amd64], e [amd64], f [linux-any], g <stage1>, h <!nocheck>, i:amd64 (>= 1)' }),
    ...['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((n) => pkg(n, '1')),
  )
  t.same(names(resolvePackages(idx, ['a'])), ['a=1', 'b=1', 'e=1', 'f=1', 'h=1', 'i=1'])
})

t.test('unsatisfiable dependency names the chain and what is available', async (t) => {
  const idx = index(
    pkg('baz', '1', { depends: 'bar' }),
    pkg('bar', '1', { depends: 'libfoo (>= 2)' }),
    pkg('libfoo', '1.0'),
    pkg('top', '1', { depends: 'mid' }),
    pkg('mid', '1', { depends: 'nothing-at-all | nope (>= 1)' }),
  )
  const err = catchError(() => resolvePackages(idx, ['baz']))
  t.ok(err instanceof UserError)
  t.equal(err.message, 'cannot satisfy "libfoo (>= 2)" needed by bar <- baz: available: libfoo 1.0')

  const err2 = catchError(() => resolvePackages(idx, ['top']))
  t.equal(err2.message, 'cannot satisfy "nothing-at-all | nope (>= 1)" needed by mid <- top: available: none')

  const err3 = catchError(() => resolvePackages(idx, ['baz', 'libfoo=1.0']))
  t.match(err3.message, /cannot satisfy "libfoo \(>= 2\)" needed by bar <- baz: available: libfoo 1\.0 \(chosen\)/)
  t.match((err3 as UserError).hint, /already chosen: libfoo 1\.0/)
})

t.test('unknown names get close-name suggestions', async (t) => {
  const idx = index(pkg('busybox', '1'), pkg('busybox-static', '1'), pkg('bash', '5'), pkg('libc6', '2'))
  const err = catchError(() => resolvePackages(idx, ['bsybox']))
  t.ok(err instanceof UserError)
  t.match(err.message, /^unknown package "bsybox" \(did you mean: busybox/)
  t.match(err.message, /busybox-static/)
  const err2 = catchError(() => resolvePackages(idx, ['zzzzzzzz']))
  t.equal(err2.message, 'unknown package "zzzzzzzz"')
})

t.test('deterministic results', async (t) => {
  const pkgs = [
    pkg('root', '1', { depends: 'v1, v2, a | b' }),
    pkg('p2', '1', { provides: 'v1' }), pkg('p1', '1', { provides: 'v1, v2' }),
    pkg('a', '1'), pkg('b', '1'),
  ]
  const r1 = names(resolvePackages(index(...pkgs), ['root']))
  const r2 = names(resolvePackages(index(...[...pkgs].reverse()), ['root']))
  t.same(r1, ['a=1', 'p1=1', 'root=1'])
  t.same(r2, r1)
})
