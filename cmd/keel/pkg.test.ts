// keel pkg build against a signed archive on 127.0.0.1, then offline from its
// build.lock and the cache.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../../pkg/log/index.js'
import { Store, storeDir } from '../../pkg/store/index.js'
import { buildDeb, createSigningKey, publishSuite, startArchiveServer } from '../../test/helpers/debian-archive.js'
import type { CliIO } from './io.js'
import { run } from './main.js'

function io(cwd: string, env: NodeJS.ProcessEnv = {}): CliIO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const stderr = { write: (s: string) => err.push(s) }
  return {
    out, err, cwd, env: { ...env },
    stdout: { write: (s: string) => out.push(s) },
    stderr,
    readStdin: async () => '',
    log: createLogger('info', stderr),
  }
}

t.test('pkg build --help describes the lock file', async (t) => {
  const a = io('/')
  t.equal(await run(a, ['pkg', '--help']), 0)
  t.match(a.out.join(''), /--update-lock/)
  t.match(a.out.join(''), /build\.lock/)
})

t.test('a build writes build.lock; with it and the cache, a build works with the mirror unreachable, same digest', async (t) => {
  const dir = t.testdir({ p: { 'build.yml': 'image: hello\norg: test\npackages: [hello]\n' } })
  const key = await createSigningKey(t)
  const server = await startArchiveServer(t)
  const spec = { name: 'hello', version: '1.0', files: { 'usr/bin/hello': '#!/bin/sh\necho hello\n' } }
  const deb = await buildDeb(dir, spec)
  // unstable: --mirror adds no -updates suite for it.
  const suite = await publishSuite(server, join(dir, 'pub'), { root: '/debian', suite: 'unstable', key, packages: [{ spec, deb }] })
  const env = { KEEL_CACHE: join(dir, 'cache') }

  const a = io(dir, env)
  t.equal(await run(a, ['pkg', 'build', '--mirror', suite.uri, '--suite', 'unstable', '--keyring', key.keyring, 'p']), 0, a.err.join(''))
  const ref = a.out.join('').trim()
  t.match(ref, /^docker\.io\/test\/hello:[0-9a-f]{20}$/)
  t.match(readFileSync(join(dir, 'p/build.lock'), 'utf8'), /name: hello\n\s+version: "1\.0"/)
  const digest = (await (await Store.open(storeDir(env.KEEL_CACHE))).resolve(ref))?.digest
  t.ok(digest)

  const b = io(dir, env)
  t.equal(await run(b, ['pkg', 'show-tag', 'p']), 0)
  t.equal(b.out.join('').trim(), ref, 'show-tag agrees once the lock exists')
  t.equal(b.err.join(''), '')

  // Forced rebuild, the mirror a closed port: nothing but the lock and the cache.
  const c = io(dir, env)
  t.equal(await run(c, ['pkg', 'build', '--force', '--mirror', 'http://127.0.0.1:1', '--suite', 'unstable', 'p']), 0, c.err.join(''))
  t.equal(c.out.join('').trim(), ref)
  t.equal((await (await Store.open(storeDir(env.KEEL_CACHE))).resolve(ref))?.digest, digest, 'identical image digest')

  // --update-lock needs the archive, and says which URL failed.
  const d = io(dir, env)
  t.equal(await run(d, ['pkg', 'build', '--update-lock', '--mirror', 'http://127.0.0.1:1', '--suite', 'unstable', 'p']), 1)
  t.match(d.err.join(''), /http:\/\/127\.0\.0\.1:1\/dists\/unstable\/InRelease: failed after 3 attempts/)

  // Without the keyring the mirror's key is unknown: refused.
  const e = io(dir, { KEEL_CACHE: join(dir, 'cache2') })
  t.equal(await run(e, ['pkg', 'build', '--update-lock', '--mirror', suite.uri, '--suite', 'unstable', 'p']), 1)
  t.match(e.err.join(''), /InRelease: signature check failed: signed only by key\(s\) not in the keyring/)

  const f = io(dir, env)
  t.equal(await run(f, ['pkg', 'build', '--keyring', key.keyring, 'p']), 2, '--keyring without --mirror is a usage error')
})

t.test('show-tag warns when a folder with packages has no lock yet', async (t) => {
  const dir = t.testdir({ p: { 'build.yml': 'image: x\npackages: [busybox-static]\n' } })
  const a = io(dir)
  t.equal(await run(a, ['pkg', 'show-tag', 'p']), 0)
  t.match(a.err.join(''), /has no build\.lock yet/)
})

t.test('--build-arg: part of the tag when it changes build.yml\'s value; a bad one is a usage error', async (t) => {
  const dir = t.testdir({ p: { 'build.yml': 'image: x\nbuildArgs: [A=1]\n' } })
  const tagWith = async (...extra: string[]): Promise<string> => {
    const a = io(dir)
    t.equal(await run(a, ['pkg', 'show-tag', ...extra, 'p']), 0, a.err.join(''))
    return a.out.join('').trim()
  }
  const plain = await tagWith()
  t.equal(await tagWith('--build-arg', 'A=1'), plain, 'the value build.yml has: same tag')
  t.not(await tagWith('--build-arg', 'A=2'), plain)
  t.not(await tagWith('--build-arg', 'B=1'), plain)
  const bad = io(dir)
  t.equal(await run(bad, ['pkg', 'build', '--build-arg', 'KEEL_WORK=/x', 'p']), 2)
  t.match(bad.err.join(''), /--build-arg KEEL_WORK is set by keel itself/)
})

t.test('pkg --help describes push, --registry and --build-arg', async (t) => {
  const a = io('/')
  t.equal(await run(a, ['pkg', '--help']), 0)
  t.match(a.out.join(''), /keel pkg push/)
  t.match(a.out.join(''), /--registry HOST/)
  t.match(a.out.join(''), /--build-arg NAME=VALUE/)
})

t.test('several folders build two at a time; references in the folders\' order; a failure is reported', async (t) => {
  const dir = t.testdir({
    slow: { 'build.yml': 'image: slow\nbuild:\n  - sleep 0.5\n  - mkdir -p "$KEEL_ROOTFS/etc"\n' },
    fast: { 'build.yml': 'image: fast\nbuild:\n  - mkdir -p "$KEEL_ROOTFS/etc"\n' },
    bad: { 'build.yml': 'image: bad\nbuild:\n  - exit 3\n' },
  })
  const env = { KEEL_CACHE: join(dir, 'cache') }
  const a = io(dir, env)
  t.equal(await run(a, ['pkg', 'build', 'slow', 'fast']), 0, a.err.join(''))
  t.match(a.out.join('').split('\n'), [/^docker\.io\/keel\/slow:/, /^docker\.io\/keel\/fast:/, ''])
  const b = io(dir, env)
  t.not(await run(b, ['pkg', 'build', '-j', '2', '--force', 'bad', 'slow']), 0)
  t.match(b.err.join(''), /bad\/build\.yml: build step 1 \(exit 3\)/)
  t.equal(b.out.join(''), '', 'nothing printed when a folder failed')
  const c = io(dir, env)
  t.equal(await run(c, ['pkg', 'build', '-j', '0', 'fast']), 2, '-j 0 is a usage error')
})
