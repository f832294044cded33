// Against the real Debian archive configured on the host. Uses KEEL_CACHE (or
// ~/.cache/keel) so that reruns only fetch the InRelease files.
import t from 'tap'
import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createRealRunner } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import { compareVersions, extractDeb, fetchDeb, loadArchiveIndex, readHostSources, resolvePackages } from './index.js'

const cacheDir = process.env['KEEL_CACHE'] ?? join(homedir(), '.cache', 'keel')
const runner = createRealRunner()

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) })
    return res.ok
  } catch {
    return false
  }
}

const sources = readHostSources()
const first = sources[0]
const skip = first === undefined
  ? 'no APT sources on this host'
  : (await reachable(`${first.uri}/dists/${first.suite}/InRelease`)) ? false : `${first.uri} is not reachable`

t.test('real archive: index, resolve, fetch and extract', { skip }, async (t) => {
  const log = createMemoryLogger('debug')
  const started = performance.now()
  const index = await loadArchiveIndex({ sources, arch: 'amd64', cacheDir, runner, log })
  t.comment(`index: ${index.packages.size} packages from ${sources.length} sources in ${(performance.now() - started).toFixed(0)} ms`)
  t.ok(index.packages.size > 10000)

  // Every configured suite is indexed and the highest version wins (the
  // current kernel lives only in the -security suite on bookworm).
  const suites = new Set<string>()
  for (const list of index.packages.values()) for (const p of list) suites.add(p.suite)
  for (const s of sources) t.ok(suites.has(s.suite), `suite ${s.suite} indexed`)

  // Dependencies of the kernel that an image supplies itself (from apt-cache depends).
  const exclude = ['kmod', 'linux-base', 'initramfs-tools', 'linux-initramfs-tool']
  const resolved = resolvePackages(index, ['busybox-static', 'linux-image-cloud-amd64'], { exclude })
  t.comment(resolved.map((p) => `${p.name} ${p.version} (${p.suite})`).join(', '))
  const names = resolved.map((p) => p.name)
  t.same(names, [...names].sort(), 'sorted by name')
  t.ok(names.includes('busybox-static'))
  t.ok(names.includes('linux-image-cloud-amd64'))
  const image = resolved.find((p) => /^linux-image-\d.*-cloud-amd64$/.test(p.name))
  t.ok(image, 'the versioned kernel image package is pulled in')
  t.equal(resolved.length, 3, 'nothing but busybox-static and the two kernel packages')
  for (const p of resolved) {
    const all = index.packages.get(p.name) ?? []
    const best = all.reduce((a, b) => (compareVersions(a.version, b.version) >= 0 ? a : b))
    t.equal(p.version, best.version, `${p.name}: the highest version of all suites`)
  }

  const busybox = resolved.find((p) => p.name === 'busybox-static')
  if (busybox === undefined) throw new Error('busybox-static not resolved')
  const deb = await fetchDeb(busybox, { cacheDir, log })
  t.ok(statSync(deb).size === busybox.size)
  const dest = t.testdir()
  const entries = await extractDeb(deb, dest, { runner })
  t.ok(entries.some((e) => e.path === 'bin/busybox' && e.type === 'file'))
  t.ok(existsSync(join(dest, 'bin/busybox')))
  accessSync(join(dest, 'bin/busybox'), constants.X_OK)
  const out = await runner.run(join(dest, 'bin/busybox'), ['echo', 'keel'])
  t.equal(out.stdout, 'keel\n')
})
