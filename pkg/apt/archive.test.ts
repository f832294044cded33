// An offline test of loadArchiveIndex and fetchDeb against a fake archive
// served from 127.0.0.1.
import t, { type Test } from 'tap'
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { IntegrityError, UserError } from '../errors/index.js'
import { createRealRunner } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import { loadArchiveIndex } from './archive.js'
import { debCachePath, fetchDeb } from './debs.js'
import { extractDeb } from './extract.js'
import type { AptSource } from './sources.js'
import {
  clearsign, createSigningKey, releaseText, sha256, stanza, startArchiveServer, xz, type ArchiveServer,
} from '../../test/helpers/debian-archive.js'

const runner = createRealRunner()
type FakeArchive = ArchiveServer
const startServer = startArchiveServer
// One signing key for the whole file; every source names its keyring in Signed-By.
const key = await createSigningKey(t)

async function release(suite: string, files: Map<string, Buffer>, opts: { byHash?: boolean; components?: string } = {}): Promise<Buffer> {
  return clearsign(key, releaseText({ suite, files, components: opts.components ?? 'main contrib', ...(opts.byHash ? { byHash: true } : {}) }))
}

interface Built {
  arch: FakeArchive
  sources: AptSource[]
  deb: Buffer
  debPath: string
  mainXz: Buffer
}

/**
 * Two sources: /debian stable (main: Packages.xz; contrib: Packages.gz only)
 * and /security stable-security (main) with a newer libx.
 */
async function buildArchive(t: Test, dir: string, opts: { byHash?: 'serve' | 'missing' } = {}): Promise<Built> {
  mkdirSync(dir, { recursive: true })
  const arch = await startServer(t)
  const tree = join(dir, 'tree')
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true })
  mkdirSync(join(tree, 'usr/bin'), { recursive: true })
  writeFileSync(join(tree, 'DEBIAN/control'), 'Package: keel-test\nVersion: 1.0\nArchitecture: amd64\nMaintainer: K <k@example.org>\nDescription: t\n')
  writeFileSync(join(tree, 'usr/bin/keel-test'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  const debPath = join(dir, 'keel-test.deb')
  await runner.run('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', tree, debPath])
  const deb = readFileSync(debPath)
  const debFile = 'pool/main/k/keel-test/keel-test_1.0_amd64.deb'
  arch.routes.set(`/debian/${debFile}`, deb)

  const mainText =
    stanza({ Package: 'keel-test', Version: '1.0', Architecture: 'amd64', Depends: 'libx (>= 1.0)', Filename: debFile, Size: deb.length, SHA256: sha256(deb) }) +
    stanza({ Package: 'libx', Version: '1.0', Architecture: 'amd64', Provides: 'libx-abi', Filename: 'pool/main/l/libx/libx_1.0_amd64.deb', Size: 10, SHA256: sha256('libx1.0') }) +
    stanza({ Package: 'foreign', Version: '1', Architecture: 'i386', Filename: 'pool/f.deb', Size: 1, SHA256: sha256('f') }) +
    stanza({ Package: 'docs', Version: '1', Architecture: 'all', Filename: 'pool/d.deb', Size: 1, SHA256: sha256('d') })
  const mainXz = await xz(dir, 'main-Packages', mainText)
  const contribGz = gzipSync(stanza({ Package: 'contrib-tool', Version: '2', Architecture: 'amd64', Filename: 'pool/c.deb', Size: 1, SHA256: sha256('c') }))
  const stableFiles = new Map<string, Buffer>([
    ['main/binary-amd64/Packages', Buffer.from(mainText)],
    ['main/binary-amd64/Packages.xz', mainXz],
    ['contrib/binary-amd64/Packages.gz', contribGz],
  ])
  const byHash = opts.byHash !== undefined
  arch.routes.set('/debian/dists/stable/InRelease', await release('stable', stableFiles, { byHash }))
  for (const [p, b] of stableFiles) {
    if (p.endsWith('/Packages')) continue // like Debian: listed, not served
    if (opts.byHash === 'serve') {
      arch.routes.set(`/debian/dists/stable/${p.slice(0, p.lastIndexOf('/'))}/by-hash/SHA256/${sha256(b)}`, b)
    } else {
      arch.routes.set(`/debian/dists/stable/${p}`, b)
    }
  }

  const secText = stanza({ Package: 'libx', Version: '1.1', Architecture: 'amd64', Filename: 'pool/updates/main/l/libx/libx_1.1_amd64.deb', Size: 10, SHA256: sha256('libx1.1') })
  const secXz = await xz(dir, 'sec-Packages', secText)
  const secFiles = new Map<string, Buffer>([['main/binary-amd64/Packages.xz', secXz]])
  arch.routes.set('/security/dists/stable-security/InRelease', await release('stable-security', secFiles, { components: 'main' }))
  arch.routes.set('/security/dists/stable-security/main/binary-amd64/Packages.xz', secXz)

  const sources: AptSource[] = [
    { uri: `${arch.base}/debian`, suite: 'stable', components: ['main', 'contrib'], signedBy: key.keyring, origin: 'test:1' },
    { uri: `${arch.base}/security`, suite: 'stable-security', components: ['main'], signedBy: key.keyring, origin: 'test:2' },
  ]
  return { arch, sources, deb, debPath, mainXz }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

t.test('loadArchiveIndex reads, verifies, merges and caches every source', async (t) => {
  const dir = t.testdir()
  const b = await buildArchive(t, join(dir, 'archive'))
  const cacheDir = join(dir, 'cache')
  const log = createMemoryLogger('debug')
  const index = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log })
  t.equal(index.arch, 'amd64')
  t.same([...index.packages.keys()].sort(), ['contrib-tool', 'docs', 'keel-test', 'libx'], 'i386 packages are dropped')
  t.same(index.packages.get('libx')?.map((p) => [p.version, p.suite, p.baseUri]), [
    ['1.1', 'stable-security', `${b.arch.base}/security`],
    ['1.0', 'stable', `${b.arch.base}/debian`],
  ], 'every suite is indexed, highest version first')
  t.same(index.providers.get('libx-abi')?.map((p) => p.name), ['libx'])
  t.ok(log.lines.some((l) => l.includes(`InRelease: signature good (${key.fingerprint})`)), 'the signature is checked')
  const cached = readdirSync(join(cacheDir, 'apt/indexes/sha256'))
  t.ok(cached.includes(sha256(b.mainXz)), 'the compressed index is cached by its hash')
  t.ok(cached.every((n) => /^[0-9a-f]{64}$/.test(n)), 'no temp files left behind')

  // Warm: only the InRelease files are fetched again.
  b.arch.requests.length = 0
  const again = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log })
  t.same(b.arch.requests.sort(), ['/debian/dists/stable/InRelease', '/security/dists/stable-security/InRelease'])
  t.equal(again.packages.size, index.packages.size)

  // A corrupt cache file is deleted and fetched again.
  for (const name of readdirSync(join(cacheDir, 'apt/indexes/sha256'))) {
    writeFileSync(join(cacheDir, 'apt/indexes/sha256', name), 'garbage')
  }
  b.arch.requests.length = 0
  const log2 = createMemoryLogger('debug')
  const third = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log: log2 })
  t.equal(third.packages.size, index.packages.size)
  t.ok(b.arch.requests.includes('/debian/dists/stable/main/binary-amd64/Packages.xz'))
  t.ok(log2.lines.some((l) => /warning: cache file .* is corrupt/.test(l)))
})

t.test('by-hash downloads, with a fallback to the plain path', async (t) => {
  const dir = t.testdir()
  for (const mode of ['serve', 'missing'] as const) {
    const b = await buildArchive(t, join(dir, mode), { byHash: mode })
    const cacheDir = join(dir, `cache-${mode}`)
    const index = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log: createMemoryLogger() })
    t.ok(index.packages.has('keel-test'), mode)
    const byHashReq = `/debian/dists/stable/main/binary-amd64/by-hash/SHA256/${sha256(b.mainXz)}`
    t.ok(b.arch.requests.includes(byHashReq), `${mode}: by-hash URL tried`)
    t.equal(b.arch.requests.includes('/debian/dists/stable/main/binary-amd64/Packages.xz'), mode === 'missing', `${mode}: plain path`)
  }
})

t.test('a tampered index is refused with IntegrityError', async (t) => {
  const dir = t.testdir()
  const b = await buildArchive(t, join(dir, 'archive'))
  const evil = await xz(dir, 'evil', 'Package: evil\nVersion: 1\nArchitecture: amd64\nFilename: x\nSize: 1\nSHA256: ' + 'e'.repeat(64) + '\n')
  b.arch.routes.set('/debian/dists/stable/main/binary-amd64/Packages.xz', evil)
  const cacheDir = join(dir, 'cache')
  try {
    await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log: createMemoryLogger() })
    t.fail('expected an IntegrityError')
  } catch (err) {
    t.ok(err instanceof IntegrityError, String(err))
    const msg = (err as Error).message
    t.match(msg, `${b.arch.base}/debian/dists/stable/main/binary-amd64/Packages.xz`)
    t.match(msg, sha256(b.mainXz), 'expected hash')
    t.match(msg, sha256(evil), 'actual hash')
  }
  t.same(readdirSync(join(cacheDir, 'apt/indexes/sha256')).filter((n) => n === sha256(evil)), [], 'nothing cached')
})

t.test('missing InRelease, missing components, nothing at all', async (t) => {
  const dir = t.testdir()
  const b = await buildArchive(t, join(dir, 'archive'))
  const cacheDir = join(dir, 'cache')
  const log = createMemoryLogger()
  const missing = await rejection(loadArchiveIndex({
    sources: [{ uri: `${b.arch.base}/debian`, suite: 'nosuch', components: ['main'], origin: 'x:1' }],
    arch: 'amd64', cacheDir, runner, log,
  }))
  t.ok(missing instanceof UserError)
  t.match(missing.message, /dists\/nosuch\/InRelease: not found/)
  t.match(missing.message, /x:1/)

  const index = await loadArchiveIndex({
    sources: [{ uri: `${b.arch.base}/debian`, suite: 'stable', components: ['main', 'non-free'], signedBy: key.keyring, origin: 'x:2' }],
    arch: 'amd64', cacheDir, runner, log,
  })
  t.ok(index.packages.has('keel-test'))
  t.ok(log.lines.some((l) => /warning: skipping .* non-free .*no component "non-free"/.test(l)), log.lines.join('\n'))

  await t.rejects(loadArchiveIndex({
    sources: [{ uri: `${b.arch.base}/debian`, suite: 'stable', components: ['main'], signedBy: key.keyring, origin: 'x:3' }],
    arch: 'arm64', cacheDir, runner, log,
  }), /no arm64 packages found/)
  await t.rejects(loadArchiveIndex({ sources: [], arch: 'amd64', cacheDir, runner, log }), UserError)
  t.same(await loadArchiveIndex({
    sources: [...b.sources, { uri: 'http://127.0.0.1:9/never', suite: 's', components: ['main'], architectures: ['arm64'], origin: 'x:4' }],
    arch: 'amd64', cacheDir, runner, log,
  }).then((i) => i.packages.size), 4, 'a source limited to other architectures is skipped')

  // A network error (nothing listening) is retried, then reported with the URL.
  const closed = await startServer(t)
  await new Promise<void>((resolve) => closed.server.close(() => resolve()))
  const refused = await rejection(loadArchiveIndex({
    sources: [{ uri: `${closed.base}/debian`, suite: 'stable', components: ['main'], origin: 'x:5' }],
    arch: 'amd64', cacheDir, runner, log, retryDelayMs: 1,
  }))
  t.match(refused.message, `${closed.base}/debian/dists/stable/InRelease: failed after 3 attempts`)

  b.arch.routes.set('/debian/dists/stable/InRelease', Buffer.from('<html>portal</html>'))
  await t.rejects(loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log }), IntegrityError)
})

t.test('fetchDeb downloads, verifies and caches; extractDeb unpacks it', async (t) => {
  const dir = t.testdir()
  const b = await buildArchive(t, join(dir, 'archive'))
  const cacheDir = join(dir, 'cache')
  const log = createMemoryLogger()
  const index = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log })
  const pkg = index.packages.get('keel-test')?.[0]
  if (pkg === undefined) throw new Error('no keel-test')
  let calls = 0
  const fetchImpl: typeof fetch = (input, init) => {
    calls++
    return fetch(input, init)
  }
  const path = await fetchDeb(pkg, { cacheDir, log, fetchImpl })
  t.equal(calls, 1, 'fetchImpl is used')
  t.equal(path, debCachePath(cacheDir, sha256(b.deb)))
  t.equal(path, join(cacheDir, 'apt/debs/sha256', `${sha256(b.deb)}.deb`))
  t.same(readFileSync(path), b.deb)

  b.arch.requests.length = 0
  t.equal(await fetchDeb(pkg, { cacheDir, log }), path)
  t.same(b.arch.requests, [], 'served from the cache')

  writeFileSync(path, 'corrupt')
  t.equal(await fetchDeb(pkg, { cacheDir, log }), path)
  t.same(readFileSync(path), b.deb, 'a corrupt cached file is fetched again')
  t.equal(b.arch.requests.length, 1)

  const dest = join(dir, 'root')
  const entries = await extractDeb(path, dest, { runner })
  t.ok(entries.some((e) => e.path === 'usr/bin/keel-test' && e.type === 'file' && e.mode === 0o755))
  t.equal(readFileSync(join(dest, 'usr/bin/keel-test'), 'utf8'), '#!/bin/sh\necho hi\n')
})

t.test('fetchDeb: tampered, missing, flaky', async (t) => {
  const dir = t.testdir()
  const b = await buildArchive(t, join(dir, 'archive'))
  const cacheDir = join(dir, 'cache')
  const log = createMemoryLogger()
  const index = await loadArchiveIndex({ sources: b.sources, arch: 'amd64', cacheDir, runner, log })
  const pkg = index.packages.get('keel-test')?.[0]
  if (pkg === undefined) throw new Error('no keel-test')
  const url = `${b.arch.base}/debian/${pkg.filename}`
  const route = `/debian/${pkg.filename}`

  const tampered = Buffer.from(b.deb)
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff
  b.arch.routes.set(route, tampered)
  try {
    await fetchDeb(pkg, { cacheDir, log, retryDelayMs: 1 })
    t.fail('expected an IntegrityError')
  } catch (err) {
    t.ok(err instanceof IntegrityError, String(err))
    const msg = (err as Error).message
    t.match(msg, 'keel-test 1.0')
    t.match(msg, url)
    t.match(msg, `expected ${sha256(b.deb)}`)
    t.match(msg, `got ${sha256(tampered)}`)
  }
  t.same(readdirSync(join(cacheDir, 'apt/debs/sha256')), [], 'nothing cached, no temp file left')

  b.arch.routes.set(route, Buffer.concat([b.deb, Buffer.from('trailing')]))
  await t.rejects(fetchDeb(pkg, { cacheDir, log, retryDelayMs: 1 }), IntegrityError, 'too long')

  b.arch.routes.delete(route)
  const notFound = await rejection(fetchDeb(pkg, { cacheDir, log, retryDelayMs: 1 }))
  t.ok(notFound instanceof UserError)
  t.match(notFound.message, `${url}: not found`)

  b.arch.routes.set(route, { status: 503, times: 2, then: b.deb })
  b.arch.requests.length = 0
  const path = await fetchDeb(pkg, { cacheDir, log, retryDelayMs: 1 })
  t.same(readFileSync(path), b.deb, 'retried after two 503s')
  t.equal(b.arch.requests.filter((r) => r === route).length, 3)

  const other = { ...pkg, sha256: sha256('other'), filename: 'pool/always-503.deb' }
  b.arch.routes.set('/debian/pool/always-503.deb', { status: 503 })
  b.arch.requests.length = 0
  await t.rejects(fetchDeb(other, { cacheDir, log, retryDelayMs: 1 }), /failed after 3 attempts: HTTP 503/)
  t.equal(b.arch.requests.length, 3)

  await t.rejects(fetchDeb({ ...pkg, sha256: '../../etc' }, { cacheDir, log }), IntegrityError, 'a bad hash is refused')
})
