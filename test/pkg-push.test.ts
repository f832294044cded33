// keel pkg push / build --push and pulls by tag against a real registry
// (Debian's docker-registry on 127.0.0.1): one machine builds and pushes,
// another (an empty cache) pulls the same digest without running a build
// step; a missing tag is built; a registry that is down is named.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRealRunner } from '../pkg/exec/index.js'
import { createMemoryLogger } from '../pkg/log/index.js'
import { RegistryClient, repoOf } from '../pkg/registry/index.js'
import { parseReference } from '../pkg/oci/index.js'
import { resolveImage } from '../pkg/resolve/index.js'
import { Store, storeDir } from '../pkg/store/index.js'
import { startRegistry } from './helpers/registry.js'
import { keelInProcess, type InProcessResult } from './helpers/keel-io.js'

const keel = (args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<InProcessResult> => keelInProcess(args, { env, cwd })

/** A package whose build step appends a line to ../builds (outside the folder, so not part of its tag). */
function packageYml(org: string, image = 'hello'): string {
  return [
    `image: ${image}`,
    `org: ${org}`,
    'buildArgs: [GREETING=hi]',
    'build:',
    '  - echo "$GREETING" >> ../builds',
    '  - mkdir -p "$KEEL_ROOTFS/etc" && echo "$GREETING" > "$KEEL_ROOTFS/etc/greeting"',
    '',
  ].join('\n')
}

const builds = (dir: string): number => (existsSync(join(dir, 'builds')) ? readFileSync(join(dir, 'builds'), 'utf8').split('\n').filter(Boolean).length : 0)
const digestIn = async (cache: string, ref: string): Promise<string | undefined> => (await (await Store.open(storeDir(cache))).resolve(ref))?.digest

t.test('push from one cache, pull into an empty one: same digest, no build step runs', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({ p: {} })
  writeFileSync(join(dir, 'p/build.yml'), packageYml(`${reg.host}/keel`))

  const a = { KEEL_CACHE: join(dir, 'a') }
  const pushed = await keel(['pkg', 'push', 'p'], a, dir)
  t.equal(pushed.code, 0, pushed.err)
  const ref = pushed.out.trim()
  t.match(ref, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/keel/hello:[0-9a-f]{20}$`), 'prints the pushed reference')
  t.match(pushed.err, /not in the registry yet: building it/, 'the registry was asked first, and had nothing')
  t.equal(builds(dir), 1, 'built once')
  const digest = await digestIn(a.KEEL_CACHE, ref)
  t.ok(digest)
  const client = new RegistryClient({ log: createMemoryLogger(), runner: createRealRunner(), insecure: [] })
  const remote = await client.getManifest(repoOf(parseReference(ref)), ref.split(':').pop()!)
  t.equal(remote.descriptor.digest, digest, 'the registry has the image under its tag, same digest')

  const b = { KEEL_CACHE: join(dir, 'b') }
  const pulled = await keel(['pkg', 'build', 'p'], b, dir)
  t.equal(pulled.code, 0, pulled.err)
  t.equal(pulled.out.trim(), ref)
  t.match(pulled.err, /pulled .* instead of building it/)
  t.equal(builds(dir), 1, 'no build step ran')
  t.equal(await digestIn(b.KEEL_CACHE, ref), digest, 'same digest in the empty cache')

  // Negative control: --force builds (the same bytes: the build is reproducible).
  const forced = await keel(['pkg', 'build', '--force', 'p'], b, dir)
  t.equal(forced.code, 0, forced.err)
  t.equal(builds(dir), 2, '--force runs the build steps')
  t.equal(await digestIn(b.KEEL_CACHE, ref), digest, 'and builds the same digest')

  // A build arg changes the tag: not in the registry, so built.
  const other = await keel(['pkg', 'build', '--build-arg', 'GREETING=bye', 'p'], b, dir)
  t.equal(other.code, 0, other.err)
  t.not(other.out.trim(), ref)
  t.match(other.err, /not in the registry yet: building it/)
  t.equal(readFileSync(join(dir, 'builds'), 'utf8').split('\n').filter(Boolean).pop(), 'bye', 'the build step saw the --build-arg')

  // keel build's @pkg: resolution pulls the same way.
  const c = join(dir, 'c')
  const ctx = {
    store: await Store.open(storeDir(c)), cacheDir: c, runner: createRealRunner(), log: createMemoryLogger(),
    registry: client, platform: { os: 'linux', architecture: 'amd64' },
  }
  await resolveImage(`@pkg:${join(dir, 'p')}`, ctx)
  t.equal(builds(dir), 3, 'no build step ran for @pkg:')
  t.equal(await digestIn(c, ref), digest)
})

t.test('--registry HOST/PATH: where an org without a host is pushed and pulled', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({ p: { 'build.yml': packageYml('team', 'tool') } })
  const a = { KEEL_CACHE: join(dir, 'a') }
  const pushed = await keel(['pkg', 'build', '--push', '--registry', `${reg.host}/mirror`, 'p'], a, dir)
  t.equal(pushed.code, 0, pushed.err)
  const remote = pushed.out.trim()
  t.match(remote, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/mirror/team/tool:[0-9a-f]{20}$`))
  const local = (await keel(['pkg', 'show-tag', 'p'], a, dir)).out.trim()
  t.match(local, /^docker\.io\/team\/tool:[0-9a-f]{20}$/)
  t.equal(local.split(':').pop(), remote.split(':').pop(), 'same tag')

  // Without --registry nothing is asked of any registry (docker.io is not reached here).
  const b = { KEEL_CACHE: join(dir, 'b') }
  const plain = await keel(['pkg', 'build', 'p'], b, dir)
  t.equal(plain.code, 0, plain.err)
  t.equal(builds(dir), 2)
  t.notMatch(plain.err, /registry/)

  const c = { KEEL_CACHE: join(dir, 'c'), KEEL_PKG_REGISTRY: `${reg.host}/mirror` }
  const pulled = await keel(['pkg', 'build', 'p'], c, dir)
  t.equal(pulled.code, 0, pulled.err)
  t.equal(pulled.out.trim(), local, 'prints the local reference')
  t.equal(builds(dir), 2, 'pulled through $KEEL_PKG_REGISTRY, not built')
  t.equal(await digestIn(c.KEEL_CACHE, local), await digestIn(a.KEEL_CACHE, local), 'the local name has the pushed digest')

  const bad = await keel(['pkg', 'build', '--registry', 'http://127.0.0.1:5000', 'p'], c, dir)
  t.equal(bad.code, 2)
  t.match(bad.err, /--registry: "http:\/\/127\.0\.0\.1:5000": give HOST\[:PORT\]\[\/PATH\] without a scheme/)
  const noHost = await keel(['pkg', 'build', '--registry', 'team', 'p'], c, dir)
  t.equal(noHost.code, 2)
  t.match(noHost.err, /does not start with a registry host/)
})

t.test('a registry that is down: push fails naming it; build warns and builds', async (t) => {
  const dir = t.testdir({ p: { 'build.yml': packageYml('127.0.0.1:9/keel') } })
  const env = { KEEL_CACHE: join(dir, 'a') }
  const built = await keel(['pkg', 'build', 'p'], env, dir)
  t.equal(built.code, 0, built.err)
  t.match(built.err, /could not pull 127\.0\.0\.1:9\/keel\/hello:[0-9a-f]{20}, building it here instead: .*127\.0\.0\.1:9/)
  t.equal(builds(dir), 1)

  const pushed = await keel(['pkg', 'push', 'p'], env, dir)
  t.equal(pushed.code, 1)
  t.equal(pushed.out, '')
  t.match(pushed.err, /pushing docker\.io|pushing 127\.0\.0\.1:9\/keel\/hello:[0-9a-f]{20}/)
  t.match(pushed.err, /127\.0\.0\.1:9.*(ECONNREFUSED|failed after)/s, pushed.err)
  t.equal(builds(dir), 1, 'the image was in the store: not built again')
})
