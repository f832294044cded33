import t, { type Test } from 'tap'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { IntegrityError, UserError } from '../errors/index.js'
import { createRealRunner } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import {
  buildDeb, clearsign, createSigningKey, publishSuite, releaseText, sha256, startArchiveServer,
} from '../../test/helpers/debian-archive.js'
import { loadArchiveIndex } from './archive.js'
import { fetchDeb } from './debs.js'
import type { AptSource } from './sources.js'
import {
  checkClearsignFrame, checkReleaseDates, dearmor, defaultKeyringFiles, evaluateGpgvStatus, parseReleaseDate,
  sourceKeyrings, verifyClearsigned,
} from './verify.js'

const runner = createRealRunner()
const key = await createSigningKey(t, 'keel trusted')
const stranger = await createSigningKey(t, 'keel stranger')

const S = '[GNUPG:] '
const good = (fpr: string, hash = '8'): string =>
  `${S}NEWSIG\n${S}GOODSIG ${fpr.slice(-16)} Someone <a@b>\n${S}VALIDSIG ${fpr} 2026-07-11 1783765031 0 4 0 1 ${hash} 01 ${fpr}\n`
const missing = (id: string): string => `${S}NEWSIG\n${S}ERRSIG ${id} 1 8 01 1783765031 9 ${'F'.repeat(40)}\n${S}NO_PUBKEY ${id}\n`
const A = 'A'.repeat(40)
const B = 'B'.repeat(40)

t.test('evaluateGpgvStatus: the rules for a trustworthy signature', async (t) => {
  const cases: Array<[string, string, string[], boolean, RegExp?]> = [
    ['one good signature is enough', good(A), [], true],
    ['keys missing from the keyring are ignored when another signature is good', missing('1234') + good(A) + missing('5678'), [], true],
    ['only missing keys: refused, naming them', missing('1234') + missing('5678'), [], false, /not in the keyring: 1234, 5678/],
    ['any BAD signature refuses, even beside a good one', good(A) + `${S}NEWSIG\n${S}BADSIG ${B.slice(-16)} Evil <e@x>\n`, [], false, /BAD signature from B+ \(Evil/],
    ['a SHA-1 signature does not count', good(A, '2'), [], false, /weak hash/],
    ['an expired key does not count', `${S}NEWSIG\n${S}EXPKEYSIG ${A.slice(-16)} Old <o@x>\n`, [], false, /key expired/],
    ['a revoked key does not count', `${S}NEWSIG\n${S}REVKEYSIG ${A.slice(-16)} Old <o@x>\n`, [], false, /key revoked/],
    ['VALIDSIG without GOODSIG does not count', `${S}NEWSIG\n${S}VALIDSIG ${A} 2026-07-11 1 0 4 0 1 8 01 ${A}\n`, [], false],
    ['no status at all', '', [], false, /no signature found/],
    ['NODATA', `${S}NODATA 1\n`, [], false, /no signature data/],
    ['Signed-By fingerprints: the listed key counts', good(A) + good(B), [B], true],
    ['Signed-By fingerprints: an unlisted key does not', good(A), [B], false, /not by the fingerprint/],
    ['a primary-key fingerprint matches a subkey signature', `${S}NEWSIG\n${S}GOODSIG X y\n${S}VALIDSIG ${A} d 1 0 4 0 1 8 01 ${B}\n`, [B], true],
  ]
  for (const [name, status, fprs, ok, reason] of cases) {
    const v = evaluateGpgvStatus(status, fprs)
    t.equal(v.ok, ok, name)
    if (reason) t.match(v.reason, reason, `${name}: reason`)
  }
  t.same(evaluateGpgvStatus(missing('1') + good(A) + good(B)).signers, [A, B])
})

t.test('checkClearsignFrame: exactly one clearsigned message and nothing around it', async (t) => {
  const doc = (await clearsign(key, 'Origin: x\n')).toString()
  t.doesNotThrow(() => checkClearsignFrame(doc, 'u'))
  t.doesNotThrow(() => checkClearsignFrame(`\n${doc}\n\n`, 'u'), 'blank lines around are fine')
  t.throws(() => checkClearsignFrame(`Origin: evil\n${doc}`, 'u'), /does not start with/)
  t.throws(() => checkClearsignFrame(`${doc}Origin: evil\n`, 'u'), /text after the signature/)
  t.throws(() => checkClearsignFrame(doc + doc, 'u'), /not exactly one/)
  t.throws(() => checkClearsignFrame('<html>captive portal</html>', 'u'), IntegrityError)
  t.throws(() => checkClearsignFrame(`${doc}\0`, 'u'), /binary/)
})

t.test('parseReleaseDate and checkReleaseDates', async (t) => {
  t.equal(parseReleaseDate('Sat, 11 Jul 2026 10:16:37 UTC')?.toISOString(), '2026-07-11T10:16:37.000Z')
  t.equal(parseReleaseDate('Sat, 11 Jul 2026 10:16:37 +0200')?.toISOString(), '2026-07-11T08:16:37.000Z')
  t.equal(parseReleaseDate('11 Jul 2026 10:16:37 GMT')?.toISOString(), '2026-07-11T10:16:37.000Z')
  t.equal(parseReleaseDate('2026-07-11'), undefined)
  t.equal(parseReleaseDate('Sat, 11 Foo 2026 10:16:37 UTC'), undefined)

  const now = new Date('2026-07-12T00:00:00Z')
  const f = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o))
  t.equal(checkReleaseDates(f({ date: 'Sat, 11 Jul 2026 10:16:37 UTC', 'valid-until': 'Sat, 18 Jul 2026 10:16:37 UTC' }), 'u', now), undefined)
  t.equal(checkReleaseDates(f({}), 'u', now), undefined, 'neither field: fine (Debian stable has no Valid-Until)')
  t.throws(() => checkReleaseDates(f({ 'valid-until': 'Sat, 11 Jul 2026 10:16:37 UTC' }), 'http://m/InRelease', now),
    /http:\/\/m\/InRelease: expired: Valid-Until Sat, 11 Jul 2026 10:16:37 UTC is before now/)
  t.throws(() => checkReleaseDates(f({ date: 'Sun, 12 Jul 2026 02:00:00 UTC' }), 'u', now), /not valid yet: .*2\.0 hours ahead/)
  t.match(checkReleaseDates(f({ date: 'Sun, 12 Jul 2026 00:30:00 UTC' }), 'u', now) ?? '', /30 minutes ahead/)
  t.equal(checkReleaseDates(f({ date: 'Sun, 12 Jul 2026 00:01:00 UTC' }), 'u', now), undefined, 'a minute of skew is not worth a word')
  t.throws(() => checkReleaseDates(f({ 'valid-until': 'soon' }), 'u', now), /malformed Valid-Until/)
  t.throws(() => checkReleaseDates(f({ date: 'today' }), 'u', now), /malformed Date/)
})

t.test('dearmor decodes armoured keys and checks their CRC', async (t) => {
  const bin = readFileSync(key.keyring)
  t.same(dearmor(key.armored, 'k'), bin)
  t.same(dearmor(key.armored + key.armored, 'k'), Buffer.concat([bin, bin]), 'several blocks')
  const corrupt = key.armored.split('\n').map((l, i, all) => (i === Math.floor(all.length / 2) ? l.replace(/[A-Z]/, (c) => (c === 'A' ? 'B' : 'A')) : l)).join('\n')
  t.throws(() => dearmor(corrupt, 'k'), /checksum/)
  t.throws(() => dearmor('nothing here', 'k'), /no armoured OpenPGP block/)
  t.throws(() => dearmor('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n', 'k'), /no END line/)
})

t.test('sourceKeyrings: Signed-By paths, fingerprints, inline keys, and the defaults', async (t) => {
  const root = t.testdir({
    etc: { apt: { 'trusted.gpg.d': { 'b.asc': 'x', 'a.gpg': 'x', 'ignored~': 'x' }, 'trusted.gpg': 'x' } },
    usr: { share: { keyrings: { 'debian-archive-keyring.gpg': 'x' } } },
  })
  const defaults = [
    join(root, 'etc/apt/trusted.gpg'), join(root, 'etc/apt/trusted.gpg.d/a.gpg'), join(root, 'etc/apt/trusted.gpg.d/b.asc'),
    join(root, 'usr/share/keyrings/debian-archive-keyring.gpg'),
  ]
  t.same(defaultKeyringFiles(root), defaults)
  const src: AptSource = { uri: 'http://m/debian', suite: 's', components: ['main'], origin: 'f:1' }
  t.same(sourceKeyrings(src, root).files, defaults)
  t.same(sourceKeyrings({ ...src, signedBy: key.keyring }, root).files, [key.keyring])
  t.same(sourceKeyrings({ ...src, signedBy: `${A.toLowerCase()}!, ${B}` }, root), {
    files: defaults, inline: [], fingerprints: [A, B], describe: defaults.join(', '),
  })
  t.same(sourceKeyrings({ ...src, signedBy: key.armored }, root).inline, [key.armored.trim()])
  t.throws(() => sourceKeyrings({ ...src, signedBy: '/no/such.gpg' }, root), /f:1: Signed-By keyring \/no\/such\.gpg does not exist/)
  t.throws(() => sourceKeyrings({ ...src, signedBy: 'relative.gpg' }, root), UserError)
  t.throws(() => sourceKeyrings(src, t.testdir({})), /no archive keyring/)
})

t.test('verifyClearsigned with gpgv: good, tampered, unknown key, armoured and inline keyrings', async (t) => {
  const tmpDir = join(t.testdir({}), 'tmp')
  const body = releaseText({ suite: 's', files: new Map([['main/binary-amd64/Packages', Buffer.from('x')]]) })
  const signed = await clearsign(key, body)
  const spec = (files: string[], fingerprints: string[] = []): { files: string[]; inline: string[]; fingerprints: string[]; describe: string } =>
    ({ files, inline: [], fingerprints, describe: files.join(', ') })

  const ok = await verifyClearsigned(signed, 'u', spec([key.keyring]), { runner, tmpDir })
  t.equal(ok.body, body, 'the body is exactly the signed text')
  t.same(ok.signers, [key.fingerprint])
  t.same(readdirSync(tmpDir), [], 'scratch files removed')

  // Every byte of the body matters: flip one in the middle of the signed text.
  const tampered = Buffer.from(signed)
  const at = tampered.indexOf('Suite: s') + 7
  tampered[at] = 't'.charCodeAt(0)
  await t.rejects(verifyClearsigned(tampered, 'http://m/InRelease', spec([key.keyring]), { runner, tmpDir }),
    { name: 'IntegrityError', message: /http:\/\/m\/InRelease: signature check failed: BAD signature/ })

  const foreign = await clearsign(stranger, body)
  await t.rejects(verifyClearsigned(foreign, 'http://m/InRelease', spec([key.keyring]), { runner, tmpDir }),
    { name: 'IntegrityError', message: new RegExp(`signed only by key\\(s\\) not in the keyring: ${stranger.fingerprint.slice(-16)} \\(checked against ${key.keyring}\\)`) })

  // apt's .asc keyrings (gpgv 2.2 reads binary only) and a key block given inline.
  const asc = join(t.testdir({}), 'key.asc')
  writeFileSync(asc, key.armored)
  t.equal((await verifyClearsigned(signed, 'u', spec([asc]), { runner, tmpDir })).body, body)
  t.equal((await verifyClearsigned(signed, 'u', { files: [], inline: [key.armored], fingerprints: [], describe: 'inline' }, { runner, tmpDir })).body, body)

  // Two keyrings; Signed-By fingerprints pick which signer counts.
  const both = [key.keyring, stranger.keyring]
  t.ok(await verifyClearsigned(foreign, 'u', spec(both), { runner, tmpDir }))
  await t.rejects(verifyClearsigned(foreign, 'u', spec(both, [key.fingerprint]), { runner, tmpDir }), /not by the fingerprint/)

  // Text outside the signature is refused before gpgv runs.
  await t.rejects(verifyClearsigned(Buffer.concat([Buffer.from('Suite: evil\n'), signed]), 'u', spec([key.keyring]), { runner, tmpDir }), /does not start with/)
  await t.rejects(verifyClearsigned(Buffer.from('Origin: unsigned\n'), 'u', spec([key.keyring]), { runner, tmpDir }), IntegrityError)
})

/** A one-package signed archive, with the source that reads it. */
async function oneSuite(t: Test, opts: { validUntil?: Date; date?: Date; signer?: typeof key } = {}) {
  const dir = t.testdir({})
  const server = await startArchiveServer(t)
  const spec = { name: 'hello', version: '1.0', files: { 'usr/bin/hello': '#!/bin/sh\necho hello\n' } }
  const deb = await buildDeb(dir, spec)
  const suite = await publishSuite(server, join(dir, 'pub'), {
    root: '/debian', suite: 'stable', key: opts.signer ?? key, packages: [{ deb, spec }],
    ...(opts.validUntil ? { validUntil: opts.validUntil } : {}), ...(opts.date ? { date: opts.date } : {}),
  })
  const sources: AptSource[] = [{ uri: suite.uri, suite: 'stable', components: ['main'], signedBy: key.keyring, origin: 'test:1' }]
  const cacheDir = join(dir, 'cache')
  mkdirSync(cacheDir)
  return { server, suite, sources, cacheDir, deb, dir }
}

t.test('loadArchiveIndex against a signed local archive: each kind of tampering is refused', async (t) => {
  const day = 24 * 3600 * 1000
  const fresh = await oneSuite(t, { validUntil: new Date(Date.now() + 7 * day) })
  const log = createMemoryLogger()
  const index = await loadArchiveIndex({ sources: fresh.sources, arch: 'amd64', cacheDir: fresh.cacheDir, runner, log })
  t.ok(index.packages.has('hello'), 'the good archive is read')

  t.test('a tampered InRelease (one byte)', async (t) => {
    const a = await oneSuite(t)
    const bad = Buffer.from(a.suite.inRelease)
    const at = bad.indexOf('Origin: Keel') + 8
    bad[at] = (bad[at] ?? 0) ^ 0x20
    a.server.routes.set(a.suite.inReleasePath, bad)
    await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log }),
      { name: 'IntegrityError', message: new RegExp(`${a.suite.uri}/dists/stable/InRelease: signature check failed: BAD signature`) })
  })

  t.test('an InRelease signed by an unknown key', async (t) => {
    const a = await oneSuite(t, { signer: stranger })
    await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log }),
      { name: 'IntegrityError', message: /InRelease: signature check failed: signed only by key\(s\) not in the keyring/ })
  })

  t.test('an expired Valid-Until', async (t) => {
    const a = await oneSuite(t, { date: new Date(Date.now() - 10 * day), validUntil: new Date(Date.now() - 3 * day) })
    await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log }),
      { name: 'IntegrityError', message: /InRelease: expired: Valid-Until .* is before now/ })
  })

  t.test('a Date far in the future', async (t) => {
    const a = await oneSuite(t, { date: new Date(Date.now() + 2 * day) })
    await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log }), /not valid yet/)
  })

  t.test('a tampered Packages.xz', async (t) => {
    const a = await oneSuite(t)
    const bad = Buffer.from(a.suite.packagesXz)
    bad[bad.length - 20] = (bad[bad.length - 20] ?? 0) ^ 1
    a.server.routes.set(a.suite.packagesXzPath, bad)
    await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log, retryDelayMs: 1 }),
      { name: 'IntegrityError', message: new RegExp(`Packages\\.xz: SHA256 mismatch: expected ${sha256(a.suite.packagesXz)}`) })
  })

  t.test('a tampered .deb', async (t) => {
    const a = await oneSuite(t)
    const idx = await loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log })
    const bad = Buffer.from(a.deb)
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1
    a.server.routes.set(a.suite.debPaths.get('hello') ?? '', bad)
    await t.rejects(fetchDeb(idx.packages.get('hello')![0]!, { cacheDir: a.cacheDir, log, retryDelayMs: 1 }),
      { name: 'IntegrityError', message: new RegExp(`package hello 1\\.0: .*hello_1\\.0_amd64\\.deb: SHA256 mismatch: expected ${sha256(a.deb)}`) })
  })
})

t.test('the cached InRelease serves when the mirror is unreachable, and is verified again', async (t) => {
  const a = await oneSuite(t, { validUntil: new Date(Date.now() + 3600_000) })
  const log = createMemoryLogger()
  await loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log })
  a.server.routes.set(a.suite.inReleasePath, { status: 503 })
  const offline = await loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log, retryDelayMs: 1 })
  t.ok(offline.packages.has('hello'))
  t.ok(log.lines.some((l) => /InRelease: unreachable .*using the cached copy, verified again/.test(l)))

  // Past its Valid-Until, the cached copy is refused like a fetched one.
  await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log, retryDelayMs: 1, now: new Date(Date.now() + 2 * 3600_000) }),
    /\(cached in .*\): expired/)

  // A cached copy altered on disk fails its signature and is dropped.
  const dir = join(a.cacheDir, 'apt/inrelease')
  const [name] = readdirSync(dir)
  const file = join(dir, name ?? '')
  writeFileSync(file, readFileSync(file, 'utf8').replace('Origin: Keel', 'Origin: Evil'))
  await t.rejects(loadArchiveIndex({ sources: a.sources, arch: 'amd64', cacheDir: a.cacheDir, runner, log, retryDelayMs: 1 }), /BAD signature/)
  t.same(readdirSync(dir), [], 'the bad cached copy is removed')
})
