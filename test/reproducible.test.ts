// Reproducible builds: examples/minimal.yml built twice — from the repository
// and from a copy of it in another folder, into different output folders, at
// different times — gives byte-identical outputs in every format (all twenty),
// and the SBOM too. SOURCE_DATE_EPOCH sets every timestamp; nothing is newer
// than it.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { comparePaths } from '../pkg/tar/index.js'
import { keel, repoRoot } from './helpers/keel-cli.js'

// Two groups, because kernel+iso and iso-bios both write NAME.iso, and
// dynamic-vhd and vhd both write NAME.vhd.
const groups = [
  ['kernel+initrd', 'tar-kernel-initrd', 'tar', 'docker', 'iso-bios', 'iso-efi', 'iso-efi-initrd', 'raw-bios', 'raw-efi',
    'qcow2-bios', 'qcow2-efi', 'vhd', 'vhdx', 'vmdk', 'gcp', 'aws', 'kernel+squashfs', 'kernel+erofs'],
  ['dynamic-vhd', 'kernel+iso'],
]
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

function digests(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, sha(join(dir, f))]))
}

t.test('two builds from different folders give identical bytes in every format', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'keel-repro-'))
  t.teardown(() => execFileSync('rm', ['-rf', work]))
  const copy = join(work, 'elsewhere')
  // verbatimSymlinks: node would make relative links absolute (to this
  // repository), and a symlink's target is part of a package's tag.
  for (const d of ['examples', 'kernel', 'images', 'services']) {
    cpSync(join(repoRoot, d), join(copy, d), { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes('/node_modules') })
  }
  const env = { SOURCE_DATE_EPOCH: '1700000000' }
  for (const [i, group] of groups.entries()) {
    const args = group.flatMap((f) => ['-f', f])
    const a = await keel(['build', ...args, '-o', join(work, `out-a${i}`), 'examples/minimal.yml'], { env })
    t.equal(a.code, 0, a.stderr)
    await new Promise((r) => setTimeout(r, 1100)) // a later second: nothing may depend on the clock
    const b = await keel(['build', ...args, '-o', join(work, `out-b${i}`), join(copy, 'examples/minimal.yml')], { env, cwd: work })
    t.equal(b.code, 0, b.stderr)
  }
  const all = (side: string): Record<string, string> => Object.fromEntries(groups.flatMap((_, i) =>
    Object.entries(digests(join(work, `out-${side}${i}`))).map(([f, d]) => [`${i}/${f}`, d])))
  const da = all('a')
  const db = all('b')
  t.same(Object.keys(da), [
    'minimal-bios.img', 'minimal-cmdline', 'minimal-docker.tar', 'minimal-efi-initrd.iso', 'minimal-efi.img', 'minimal-efi.iso',
    'minimal-efi.qcow2', 'minimal-erofs-initrd.img', 'minimal-erofs.img', 'minimal-initrd.img', 'minimal-initrd.tar',
    'minimal-kernel', 'minimal-sbom.spdx.json', 'minimal-squashfs-initrd.img', 'minimal-squashfs.img',
    'minimal.img.tar.gz', 'minimal.iso', 'minimal.qcow2', 'minimal.raw', 'minimal.tar', 'minimal.vhd', 'minimal.vhdx', 'minimal.vmdk',
  ].map((f) => `0/${f}`).concat(['minimal-cmdline', 'minimal-iso-initrd.img', 'minimal-kernel', 'minimal-sbom.spdx.json', 'minimal.iso', 'minimal.vhd'].map((f) => `1/${f}`)))
  for (const [file, digest] of Object.entries(da)) t.equal(db[file], digest, `${file}: the same bytes`)

  // Every entry of the tar is stamped at or before SOURCE_DATE_EPOCH, owned by numbers, sorted.
  const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', join(work, 'out-a0', 'minimal.tar')], { env: { ...process.env, TZ: 'UTC' } }).toString().trim().split('\n')
  const times = listing.map((l) => l.split(/\s+/).slice(3, 5).join(' '))
  t.ok(times.every((ts) => ts <= '2023-11-14 22:13:20'), 'no mtime after SOURCE_DATE_EPOCH')
  t.ok(listing.some((l) => l.endsWith(' init')), 'keel init at /')
  const names = listing.map((l) => l.split(/\s+/).slice(5).join(' ').replace(/ -> .*$/, ''))
  t.same(names, [...names].sort((x, y) => comparePaths(x, y)), 'entries sorted')
  const sbom = JSON.parse(readFileSync(join(work, 'out-a0', 'minimal-sbom.spdx.json'), 'utf8')) as { creationInfo: { created: string }; packages: Array<{ name: string }> }
  t.equal(sbom.creationInfo.created, '2023-11-14T22:13:20Z', 'the SBOM is dated SOURCE_DATE_EPOCH')
  t.ok(sbom.packages.some((p) => p.name === 'busybox-static'), 'the SBOM lists the Debian packages inside the images')
  t.ok(sbom.packages.some((p) => /^linux-image-6\.1\.0-\d+-cloud-amd64$/.test(p.name)), 'the kernel package too')

  // The docker output is an image skopeo and keel's cache both accept.
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${join(work, 'out-a0', 'minimal-docker.tar')}`]).toString()) as { Layers: string[] }
  t.equal(inspect.Layers.length, 1)
  const imported = await keel(['cache', 'import', join(work, 'out-a0', 'minimal-docker.tar')], { env: { KEEL_CACHE: join(work, 'cache') } })
  t.equal(imported.code, 0, imported.stderr)
  t.match(imported.stdout, /^docker\.io\/library\/minimal:latest\tsha256:[0-9a-f]{64}\n$/)

  // A different SOURCE_DATE_EPOCH changes the stamps, so the bytes too.
  const c = await keel(['build', '-f', 'tar', '-o', join(work, 'out-c'), 'examples/minimal.yml'], { env: { SOURCE_DATE_EPOCH: '1600000000' } })
  t.equal(c.code, 0, c.stderr)
  t.not(sha(join(work, 'out-c', 'minimal.tar')), da['minimal.tar'])
})
