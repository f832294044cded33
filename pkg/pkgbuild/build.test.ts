// buildPackage against a signed Debian archive served from 127.0.0.1: the
// lock file written, reused without the archive, and every kind of tampering
// refused.
import t, { type Test } from 'tap'
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AptSource } from '../apt/index.js'
import { createRealRunner } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import { Store, storeDir } from '../store/index.js'
import {
  buildDeb, createSigningKey, publishSuite, sha256, startArchiveServer, type DebSpec, type SigningKey,
} from '../../test/helpers/debian-archive.js'
import { buildPackage, type BuildContext } from './build.js'
import { parseLock } from './lock.js'

const runner = createRealRunner()
const key = await createSigningKey(t, 'keel trusted')
const stranger = await createSigningKey(t, 'keel stranger')
const day = 24 * 3600 * 1000

const hello: DebSpec = { name: 'hello', version: '1.0', depends: 'libhello', files: { 'usr/bin/hello': '#!/bin/sh\necho hello\n' } }
const libhello: DebSpec = { name: 'libhello', version: '2.0', files: { 'usr/lib/libhello.txt': 'lib\n' } }

interface Fixture {
  dir: string
  pkgDir: string
  cacheDir: string
  server: Awaited<ReturnType<typeof startArchiveServer>>
  suite: Awaited<ReturnType<typeof publishSuite>>
  debs: Map<string, Buffer>
  ctx: (over?: Partial<BuildContext>) => Promise<BuildContext & { log: ReturnType<typeof createMemoryLogger> }>
}

async function fixture(t: Test, o: { signer?: SigningKey; validUntil?: Date; date?: Date } = {}): Promise<Fixture> {
  const dir = t.testdir({ pkg: { 'build.yml': 'image: hello\norg: test\npackages: [hello]\n' } })
  const server = await startArchiveServer(t)
  const debs = new Map<string, Buffer>()
  for (const spec of [hello, libhello]) debs.set(spec.name, await buildDeb(dir, spec))
  const suite = await publishSuite(server, join(dir, 'pub'), {
    root: '/debian', suite: 'stable', key: o.signer ?? key,
    packages: [hello, libhello].map((spec) => ({ spec, deb: debs.get(spec.name)! })),
    ...(o.validUntil ? { validUntil: o.validUntil } : {}), ...(o.date ? { date: o.date } : {}),
  })
  const sources: AptSource[] = [{ uri: suite.uri, suite: 'stable', components: ['main'], signedBy: key.keyring, origin: 'test:1' }]
  const cacheDir = join(dir, 'cache')
  const ctx = async (over: Partial<BuildContext> = {}): Promise<BuildContext & { log: ReturnType<typeof createMemoryLogger> }> => ({
    store: await Store.open(storeDir(cacheDir)), cacheDir, runner, log: createMemoryLogger(),
    archive: { sources, retryDelayMs: 1 }, ...over,
  } as BuildContext & { log: ReturnType<typeof createMemoryLogger> })
  return { dir, pkgDir: join(dir, 'pkg'), cacheDir, server, suite, debs, ctx }
}

t.test('a good archive builds; build.lock is written, then used without the archive', async (t) => {
  const f = await fixture(t, { validUntil: new Date(Date.now() + 7 * day) })
  const first = await buildPackage(f.pkgDir, await f.ctx())
  t.ok(first.built)
  const lockText = readFileSync(join(f.pkgDir, 'build.lock'), 'utf8')
  const lock = parseLock(lockText, 'build.lock')
  t.same(lock.packages.map((p) => [p.name, p.version, p.sha256, p.size, p.filename]), [
    ['hello', '1.0', sha256(f.debs.get('hello')!), f.debs.get('hello')!.length, 'pool/main/h/hello/hello_1.0_amd64.deb'],
    ['libhello', '2.0', sha256(f.debs.get('libhello')!), f.debs.get('libhello')!.length, 'pool/main/l/libhello/libhello_2.0_amd64.deb'],
  ], 'every resolved package pinned')
  t.same(lock.sources, [{ uri: f.suite.uri, suite: 'stable', components: ['main'] }])
  t.same(lock.request, { packages: ['hello'], exclude: [] })

  // Unchanged folder (lock included): nothing built, nothing fetched.
  f.server.requests.length = 0
  const again = await buildPackage(f.pkgDir, await f.ctx())
  t.notOk(again.built)
  t.equal(again.ref, first.ref)
  t.same(f.server.requests, [])

  // Rebuilt from the lock with the archive gone: no index, files from the cache, same image.
  f.server.routes.clear()
  const offline = await buildPackage(f.pkgDir, await f.ctx({ force: true }))
  t.ok(offline.built)
  t.equal(offline.descriptor.digest, first.descriptor.digest, 'the same image, bit for bit')
  t.notOk(f.server.requests.some((r) => r.includes('InRelease')), 'the archive index was not read')

  // --update-lock with nothing changed keeps the file (and so the tag).
  const f2 = await fixture(t)
  writeFileSync(join(f2.pkgDir, 'build.lock'), lockText.replaceAll(f.suite.uri, f2.suite.uri))
  const relocked = await buildPackage(f2.pkgDir, await f2.ctx({ updateLock: true }))
  t.equal(readFileSync(join(f2.pkgDir, 'build.lock'), 'utf8'), lockText.replaceAll(f.suite.uri, f2.suite.uri), 'same pins, same bytes')
  t.ok(f2.server.requests.includes(f2.suite.inReleasePath), '--update-lock reads the archive')
  t.ok(relocked.built)
})

t.test('the tag is the folder with its lock; a lock that drifts from build.yml is refused', async (t) => {
  const f = await fixture(t)
  const first = await buildPackage(f.pkgDir, await f.ctx())
  const lockPath = join(f.pkgDir, 'build.lock')
  const lock = readFileSync(lockPath, 'utf8')

  const repinned = lock.replace(/(name: libhello\n\s+version: )"2\.0"/, '$1"2.1"')
  t.not(repinned, lock)
  writeFileSync(lockPath, repinned)
  const changed = await buildPackage(f.pkgDir, await f.ctx())
  t.not(changed.tag, first.tag, 'a changed pin changes the tag')
  writeFileSync(lockPath, lock)

  writeFileSync(join(f.pkgDir, 'build.yml'), 'image: hello\norg: test\npackages: [hello, libhello]\nexclude: [kmod]\n')
  await t.rejects(buildPackage(f.pkgDir, await f.ctx()), {
    name: 'UserError',
    message: /build\.lock does not match .*build\.yml: packages: adds libhello; exclude: adds kmod/,
    hint: /keel pkg build --update-lock /,
  })
  const updated = await buildPackage(f.pkgDir, await f.ctx({ updateLock: true }))
  t.not(updated.tag, first.tag)
  t.same(parseLock(readFileSync(lockPath, 'utf8'), 'l').request, { packages: ['hello', 'libhello'], exclude: ['kmod'] })

  writeFileSync(join(f.pkgDir, 'build.yml'), 'image: hello\norg: test\n')
  await t.rejects(buildPackage(f.pkgDir, await f.ctx()), /build\.lock pins Debian packages, but .*build\.yml lists none/)
  await buildPackage(f.pkgDir, await f.ctx({ updateLock: true }))
  t.throws(() => readFileSync(lockPath), 'the stale lock is removed by --update-lock')
})

t.test('tampering is refused, naming the URL and what failed', async (t) => {
  const ctxOf = async (f: Fixture): Promise<BuildContext> => f.ctx()

  t.test('InRelease with one byte changed', async (t) => {
    const f = await fixture(t)
    const bad = Buffer.from(f.suite.inRelease)
    const at = bad.indexOf('Suite: stable') + 7
    bad[at] = (bad[at] ?? 0) ^ 0x20
    f.server.routes.set(f.suite.inReleasePath, bad)
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), {
      name: 'IntegrityError', message: new RegExp(`${f.suite.uri}/dists/stable/InRelease: signature check failed: BAD signature`),
    })
    t.throws(() => readFileSync(join(f.pkgDir, 'build.lock')), 'no lock written')
  })

  t.test('InRelease signed by a key not in Signed-By', async (t) => {
    const f = await fixture(t, { signer: stranger })
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), {
      name: 'IntegrityError', message: new RegExp(`InRelease: signature check failed: signed only by key\\(s\\) not in the keyring: ${stranger.fingerprint.slice(-16)}`),
    })
  })

  t.test('an expired Valid-Until', async (t) => {
    const f = await fixture(t, { date: new Date(Date.now() - 9 * day), validUntil: new Date(Date.now() - 2 * day) })
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), { name: 'IntegrityError', message: /InRelease: expired: Valid-Until .* is before now/ })
  })

  t.test('a Packages.xz that is not the one InRelease lists', async (t) => {
    const f = await fixture(t)
    const bad = Buffer.from(f.suite.packagesXz)
    bad[bad.length - 30] = (bad[bad.length - 30] ?? 0) ^ 1
    f.server.routes.set(f.suite.packagesXzPath, bad)
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), {
      name: 'IntegrityError', message: new RegExp(`${f.suite.uri}/dists/stable/main/binary-amd64/Packages\\.xz: SHA256 mismatch`),
    })
  })

  t.test('a .deb that is not the one Packages lists', async (t) => {
    const f = await fixture(t)
    const bad = Buffer.from(f.debs.get('hello')!)
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1
    f.server.routes.set(f.suite.debPaths.get('hello')!, bad)
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), {
      name: 'IntegrityError',
      message: new RegExp(`package hello 1\\.0 \\(pinned in .*build\\.lock\\): ${f.suite.uri}/pool/main/h/hello/hello_1\\.0_amd64\\.deb: SHA256 mismatch: expected ${sha256(f.debs.get('hello')!)}`),
    })
  })

  t.test('with a lock: a .deb whose hash differs from the lock (archive re-published, signed and consistent)', async (t) => {
    const f = await fixture(t)
    await buildPackage(f.pkgDir, await ctxOf(f))
    const pinned = sha256(f.debs.get('hello')!)
    // A new, validly signed archive with a different hello 1.0, and an empty cache.
    rmSync(f.cacheDir, { recursive: true, force: true })
    const other = await buildDeb(join(f.dir, 'other'), { ...hello, files: { 'usr/bin/hello': '#!/bin/sh\necho swapped\n' } })
    await publishSuite(f.server, join(f.dir, 'pub2'), {
      root: '/debian', suite: 'stable', key, packages: [{ spec: hello, deb: other }, { spec: libhello, deb: f.debs.get('libhello')! }],
    })
    await t.rejects(buildPackage(f.pkgDir, await ctxOf(f)), {
      name: 'IntegrityError',
      message: new RegExp(`package hello 1\\.0 \\(pinned in .*build\\.lock\\): .*hello_1\\.0_amd64\\.deb: (SHA256|size) mismatch: .*expected ${pinned}`),
    })
  })
})

// --- the step cache (step-cache.ts) -------------------------------------------

/** A .deb as Debian ships them (data.tar.xz), which the step cache keeps decompressed. */
async function buildXzDeb(dir: string, spec: DebSpec): Promise<Buffer> {
  await buildDeb(dir, spec) // for its tree
  const tree = join(dir, `${spec.name}_${spec.version}-tree`)
  const out = join(dir, `${spec.name}_${spec.version}_xz.deb`)
  await runner.run('dpkg-deb', ['--build', '--root-owner-group', '-Zxz', tree, out], { env: { SOURCE_DATE_EPOCH: '0' } })
  return readFileSync(out)
}

t.test('step cache: a warm rebuild reuses data.tars and the layer, bit for bit; bad entries are redone; other inputs miss', async (t) => {
  const dir = t.testdir({ pkg: { 'build.yml': 'image: hello\norg: test\npackages: [hello]\nbuild:\n  - echo built > "$KEEL_ROOTFS/step"\n' } })
  const server = await startArchiveServer(t)
  const specs = [hello, libhello]
  const debs = new Map<string, Buffer>()
  for (const spec of specs) debs.set(spec.name, await buildXzDeb(dir, spec))
  const suite = await publishSuite(server, join(dir, 'pub'), { root: '/debian', suite: 'stable', key, packages: specs.map((spec) => ({ spec, deb: debs.get(spec.name)! })) })
  const cacheDir = join(dir, 'cache')
  const store = await Store.open(storeDir(cacheDir))
  const build = async (over: Partial<BuildContext> = {}): Promise<{ digest: string; log: string }> => {
    const log = createMemoryLogger()
    const r = await buildPackage(join(dir, 'pkg'), {
      store, cacheDir, runner, log, force: true,
      archive: { sources: [{ uri: suite.uri, suite: 'stable', components: ['main'], signedBy: key.keyring, origin: 'test:1' }], retryDelayMs: 1 },
      ...over,
    })
    return { digest: r.descriptor.digest, log: log.lines.join('\n') }
  }

  const first = await build()
  t.match(first.log, /hello: step cache: deb-data 0 hit\(s\), 2 miss\(es\); gzip-layer 0 hit\(s\), 1 miss\(es\)/)
  const warm = await build()
  t.equal(warm.digest, first.digest, 'a hit gives the same image')
  t.match(warm.log, /hello: step cache: deb-data 2 hit\(s\), 0 miss\(es\); gzip-layer 1 hit\(s\), 0 miss\(es\)/)
  t.match(warm.log, /build step 1\/1/, 'the build step ran all the same')
  const off = await build({ stepCache: false })
  t.equal(off.digest, first.digest, 'the same image without the cache')
  t.notMatch(off.log, /step cache:/)
  const onDisk = await build({ tmpfs: false })
  t.equal(onDisk.digest, first.digest, 'the same image unpacked on disk')

  // hello's decompressed data.tar, corrupted in the store: found out, made again.
  const recordDir = join(cacheDir, 'steps', 'deb-data')
  const helloSha = sha256(debs.get('hello')!)
  const record = readdirSync(recordDir).map((f) => join(recordDir, f)).find((f) => readFileSync(f, 'utf8').includes(helloSha))!
  const blob = store.blobPath((JSON.parse(readFileSync(record, 'utf8')) as { blob: { digest: `sha256:${string}` } }).blob.digest)
  const tar = readFileSync(blob)
  const bad = Buffer.from(tar)
  const at = bad.indexOf('echo hello')
  t.ok(at > 0)
  bad.write('echo HELLO', at)
  chmodSync(blob, 0o644)
  writeFileSync(blob, bad)
  const healed = await build()
  t.equal(healed.digest, first.digest, 'the corrupt entry did not reach the image')
  t.match(healed.log, /step cache: deb-data blob sha256:[0-9a-f]+: does not match its digest; making it again/)
  t.match(healed.log, /deb-data 1 hit\(s\), 1 miss\(es\), 1 rejected/)
  t.same(readFileSync(blob), tar, 'the store has the right bytes again')

  // The records gone and the blob bad: a miss, and the fresh bytes replace the bad ones.
  rmSync(join(cacheDir, 'steps'), { recursive: true })
  chmodSync(blob, 0o644)
  writeFileSync(blob, bad)
  const remade = await build()
  t.equal(remade.digest, first.digest)
  t.match(remade.log, /deb-data 0 hit\(s\), 2 miss\(es\)/)
  t.same(readFileSync(blob), tar)

  // Another exclude list, so another set of .debs: hello's data.tar is reused, the layer is new.
  writeFileSync(join(dir, 'pkg/build.yml'), 'image: hello\norg: test\npackages: [hello]\nexclude: [libhello]\nbuild:\n  - echo built > "$KEEL_ROOTFS/step"\n')
  const fewer = await build({ updateLock: true })
  t.not(fewer.digest, first.digest)
  t.match(fewer.log, /hello: step cache: deb-data 1 hit\(s\), 0 miss\(es\); gzip-layer 0 hit\(s\), 1 miss\(es\)/)
})
