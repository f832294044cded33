import t, { type Test } from 'tap'
import { chmodSync, createReadStream, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'
import { IntegrityError, UserError } from '../errors/index.js'
import { createRealRunner } from '../exec/index.js'
import { extractDeb, findDebData, readArMembers, unpackDataTar, writeDebDataTar, type ExtractedEntry } from './extract.js'

const runner = createRealRunner()

/** Builds a package tree and returns its directory. */
function makeTree(dir: string, name: string, content: string): string {
  const root = join(dir, `${name}-tree`)
  const w = (p: string, text: string, mode: number): void => {
    mkdirSync(join(root, p, '..'), { recursive: true })
    writeFileSync(join(root, p), text)
    chmodSync(join(root, p), mode)
  }
  mkdirSync(join(root, 'DEBIAN'), { recursive: true })
  writeFileSync(join(root, 'DEBIAN/control'),
    `Package: ${name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Keel <keel@example.org>\nDescription: test package\n`)
  w('usr/bin/tool', `#!/bin/sh\necho ${content}\n`, 0o755)
  w('usr/bin/suid', 'setuid\n', 0o4755)
  w('usr/share/doc/pkg/readme', content, 0o644)
  w('etc/ro.conf', 'read only\n', 0o444)
  w('usr/lib/hard1', 'linked\n', 0o644)
  linkSync(join(root, 'usr/lib/hard1'), join(root, 'usr/lib/hard2'))
  symlinkSync('tool', join(root, 'usr/bin/link'))
  mkdirSync(join(root, 'var/private'), { recursive: true })
  chmodSync(join(root, 'var/private'), 0o700)
  mkdirSync(join(root, 'tmp'))
  chmodSync(join(root, 'tmp'), 0o1777)
  return root
}

async function buildDeb(dir: string, name: string, compression: string, content = 'hello'): Promise<string> {
  const tree = makeTree(dir, `${name}-${compression}`, content)
  const out = join(dir, `${name}-${compression}.deb`)
  await runner.run('dpkg-deb', ['--build', '--root-owner-group', `-Z${compression}`, tree, out])
  return out
}

const byPath = (entries: ExtractedEntry[]): Map<string, ExtractedEntry> => new Map(entries.map((e) => [e.path, e]))

for (const compression of ['xz', 'gzip', 'zstd', 'none']) {
  t.test(`extractDeb on a dpkg-deb built package (${compression})`, async (t) => {
    const dir = t.testdir()
    const deb = await buildDeb(dir, 'keel-test', compression)
    const members = await readArMembers(deb)
    t.equal(members[0]?.name, 'debian-binary')
    const dest = join(dir, 'root')
    const entries = await extractDeb(deb, dest, { runner })
    const m = byPath(entries)
    t.equal(entries[0]?.path, '.', 'the archive root comes first')
    for (const e of entries) {
      t.notMatch(e.path, /^\.?\//, `relative path ${e.path}`)
      t.equal(e.uid, 0)
      t.equal(e.gid, 0)
    }
    t.same(m.get('usr/bin/tool'), { path: 'usr/bin/tool', type: 'file', mode: 0o755, uid: 0, gid: 0 })
    t.equal(m.get('usr/bin/suid')?.mode, 0o4755)
    t.equal(m.get('etc/ro.conf')?.mode, 0o444)
    t.same(m.get('usr/bin/link'), { path: 'usr/bin/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'tool' })
    t.equal(m.get('var/private')?.type, 'directory')
    t.equal(m.get('var/private')?.mode, 0o700)
    t.equal(m.get('tmp')?.mode, 0o1777)
    const hard = [m.get('usr/lib/hard1'), m.get('usr/lib/hard2')]
    const linkEntry = hard.find((e) => e?.type === 'link')
    t.ok(linkEntry, 'one of the two names is a hardlink entry')
    t.match(linkEntry?.linkname, /^usr\/lib\/hard[12]$/)

    t.equal(readFileSync(join(dest, 'usr/share/doc/pkg/readme'), 'utf8'), 'hello')
    t.equal(statSync(join(dest, 'usr/bin/tool')).mode & 0o7777, 0o755)
    t.equal(statSync(join(dest, 'usr/bin/suid')).mode & 0o7777, 0o4755)
    t.equal(statSync(join(dest, 'etc/ro.conf')).mode & 0o7777, 0o444)
    t.equal(statSync(join(dest, 'var/private')).mode & 0o7777, 0o700)
    t.equal(statSync(join(dest, 'tmp')).mode & 0o7777, 0o1777)
    t.equal(readlinkSync(join(dest, 'usr/bin/link')), 'tool')
    t.equal(statSync(join(dest, 'usr/lib/hard1')).ino, statSync(join(dest, 'usr/lib/hard2')).ino, 'a real hardlink')
    t.notOk(existsSync(join(dest, 'DEBIAN')), 'control files are not unpacked')

    // Unpacking again over the same tree works: files are replaced, directories kept.
    const again = await extractDeb(deb, dest, { runner })
    t.equal(again.length, entries.length)
  })
}

t.test('writeDebDataTar + unpackDataTar (the step cache\'s path) unpack what extractDeb does', async (t) => {
  const dir = t.testdir()
  const listing = (root: string): string[] => {
    const out: string[] = []
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(root, rel)).sort()) {
        const p = rel === '' ? name : `${rel}/${name}`
        const st = lstatSync(join(root, p))
        out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? readlinkSync(join(root, p)) : st.isFile() ? readFileSync(join(root, p), 'latin1') : ''}`)
        if (st.isDirectory()) walk(p)
      }
    }
    walk('')
    return out
  }
  for (const compression of ['xz', 'zstd', 'gzip', 'none']) {
    const deb = await buildDeb(dir, 'two-ways', compression)
    const data = await findDebData(deb)
    t.equal(data.member.name, compression === 'none' ? 'data.tar' : `data.tar.${compression === 'gzip' ? 'gz' : compression === 'zstd' ? 'zst' : 'xz'}`)
    const tar = join(dir, `data-${compression}.tar`)
    await writeDebDataTar(deb, data, tar, { runner })
    t.same(readdirSync(dir).filter((f) => f.startsWith(`data-${compression}.tar`)), [`data-${compression}.tar`], `${compression}: no scratch file left`)
    const a = await extractDeb(deb, join(dir, `a-${compression}`), { runner })
    const b = await unpackDataTar(createReadStream(tar), join(dir, `b-${compression}`), deb)
    t.same(b, a, `${compression}: the same entries`)
    t.same(listing(join(dir, `b-${compression}`)), listing(join(dir, `a-${compression}`)), `${compression}: the same tree`)
  }
})

t.test('several packages unpack into one tree; later files replace earlier ones', async (t) => {
  const dir = t.testdir()
  const first = await buildDeb(dir, 'one', 'gzip', 'first')
  const second = await buildDeb(dir, 'two', 'gzip', 'second')
  const dest = join(dir, 'root')
  await extractDeb(first, dest, { runner })
  // A symlink planted where a file will go must be replaced, not written through.
  const outside = join(dir, 'outside.txt')
  writeFileSync(outside, 'untouched')
  const readme = join(dest, 'usr/share/doc/pkg/readme')
  chmodSync(readme, 0o644)
  writeFileSync(readme, 'local edit')
  unlinkSync(join(dest, 'usr/bin/tool'))
  symlinkSync(outside, join(dest, 'usr/bin/tool'))
  await extractDeb(second, dest, { runner })
  t.equal(readFileSync(readme, 'utf8'), 'second')
  t.equal(readFileSync(outside, 'utf8'), 'untouched')
  t.ok(lstatSync(join(dest, 'usr/bin/tool')).isFile(), 'the planted symlink was replaced by the file')
  t.match(readFileSync(join(dest, 'usr/bin/tool'), 'utf8'), /echo second/)
})

// --- hand-made archives ---------------------------------------------------

interface TarEntry {
  name: string
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo'
  linkname?: string
  mode?: number
  body?: string
  devmajor?: number
  devminor?: number
  uid?: number
  gid?: number
}

async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer))
    p.on('end', () => resolve())
    p.on('error', reject)
  })
  for (const e of entries) {
    const type = e.type ?? 'file'
    const header = {
      name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(0),
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      ...(e.devmajor === undefined ? {} : { devmajor: e.devmajor, devminor: e.devminor ?? 0 }),
    }
    await new Promise<void>((resolve, reject) => {
      p.entry(header, type === 'file' ? (e.body ?? '') : undefined as unknown as string, (err) => (err ? reject(err) : resolve()))
    })
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

function arHeader(name: string, size: number): Buffer {
  const f = (s: string, n: number): string => s.padEnd(n, ' ')
  return Buffer.from(f(name, 16) + f('0', 12) + f('0', 6) + f('0', 6) + f('100644', 8) + f(String(size), 10) + '`\n', 'latin1')
}

function makeAr(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')]
  for (const m of members) {
    parts.push(arHeader(m.name, m.data.length), m.data)
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}

async function makeDeb(path: string, entries: TarEntry[], opts: { gzip?: boolean; version?: string } = {}): Promise<string> {
  const tar = await makeTar(entries)
  const control = await makeTar([{ name: './', type: 'directory' }, { name: './control', body: 'Package: x\n' }])
  writeFileSync(path, makeAr([
    { name: 'debian-binary', data: Buffer.from(`${opts.version ?? '2.0'}\n`) },
    { name: 'control.tar.gz', data: gzipSync(control) },
    opts.gzip === false ? { name: 'data.tar', data: tar } : { name: 'data.tar.gz', data: gzipSync(tar) },
  ]))
  return path
}

async function expectRefused(t: Test, deb: string, dest: string, entry: string): Promise<void> {
  try {
    await extractDeb(deb, dest, { runner })
    t.fail(`expected ${deb} to be refused`)
  } catch (err) {
    t.ok(err instanceof IntegrityError || err instanceof UserError, `${(err as Error).name}: ${(err as Error).message}`)
    t.match((err as Error).message, deb, 'names the .deb')
    t.match((err as Error).message, `"${entry}"`, 'names the entry')
  }
}

t.test('hostile archives are refused', async (t) => {
  const dir = t.testdir({ outside: { 'marker': 'keep' } })
  const outsideDir = join(dir, 'outside')
  const listOutside = (): string[] => readdirSync(outsideDir).sort()

  const cases: [string, TarEntry[], string][] = [
    ['dotdot', [{ name: './', type: 'directory' }, { name: './../outside/evil', body: 'x' }], './../outside/evil'],
    ['dotdot-deep', [{ name: './usr/../../outside/evil', body: 'x' }], './usr/../../outside/evil'],
    ['absolute-dotdot', [{ name: '/../outside/evil', body: 'x' }], '/../outside/evil'],
    ['symlink-escape', [
      { name: './escape', type: 'symlink', linkname: '../outside' },
      { name: './escape/pwned', body: 'x' },
    ], './escape/pwned'],
    ['symlink-escape-deep', [
      { name: './usr/', type: 'directory' },
      { name: './usr/up', type: 'symlink', linkname: '../../outside' },
      { name: './usr/up/dir/', type: 'directory' },
    ], './usr/up/dir/'],
    ['absolute-symlink-then-dotdot', [
      { name: './abs', type: 'symlink', linkname: '/../outside' },
      { name: './abs/pwned', body: 'x' },
    ], './abs/pwned'],
    ['hardlink-dotdot', [{ name: './hl', type: 'link', linkname: '../outside/marker' }], './hl'],
    ['hardlink-through-symlink', [
      { name: './up', type: 'symlink', linkname: '..' },
      { name: './hl', type: 'link', linkname: './up/outside/marker' },
    ], './hl'],
  ]
  for (const [name, entries, bad] of cases) {
    const deb = await makeDeb(join(dir, `${name}.deb`), entries)
    const dest = join(dir, `root-${name}`)
    await expectRefused(t, deb, dest, bad)
    t.same(listOutside(), ['marker'], `${name}: nothing written outside`)
  }
  t.equal(readFileSync(join(outsideDir, 'marker'), 'utf8'), 'keep')
})

t.test('absolute paths and absolute symlinks stay inside the destination', async (t) => {
  const dir = t.testdir({ outside: {} })
  const outsideDir = join(dir, 'outside')
  const deb = await makeDeb(join(dir, 'abs.deb'), [
    { name: './', type: 'directory' },
    { name: '/usr/bin/abs', body: 'abs', mode: 0o755 },
    { name: './lib', type: 'symlink', linkname: outsideDir },
    { name: './lib/inside', body: 'redirected' },
    { name: './dev/', type: 'directory' },
    { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: './dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
    { name: './dev/fifo', type: 'fifo', mode: 0o600 },
    { name: './usr/bin/abs-link', type: 'link', linkname: '/usr/bin/abs' },
  ], { gzip: false })
  const dest = join(dir, 'root')
  const entries = await extractDeb(deb, dest, { runner })
  const m = byPath(entries)
  t.same(entries.map((e) => e.path), ['.', 'usr/bin/abs', 'lib', 'lib/inside', 'dev', 'dev/null', 'dev/sda', 'dev/fifo', 'usr/bin/abs-link'])
  t.equal(readFileSync(join(dest, 'usr/bin/abs'), 'utf8'), 'abs')
  t.same(readdirSync(outsideDir), [], 'an absolute symlink is followed inside the destination, not on the host')
  t.equal(readFileSync(join(dest, outsideDir, 'inside'), 'utf8'), 'redirected')
  t.same(m.get('dev/null'), { path: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, devmajor: 1, devminor: 3 })
  t.same(m.get('dev/sda'), { path: 'dev/sda', type: 'block', mode: 0o660, uid: 0, gid: 6, devmajor: 8, devminor: 0 })
  t.same(m.get('dev/fifo'), { path: 'dev/fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0 })
  t.notOk(existsSync(join(dest, 'dev/null')), 'device nodes are not created')
  t.notOk(existsSync(join(dest, 'dev/fifo')), 'fifos are not created')
  t.equal(m.get('usr/bin/abs-link')?.linkname, 'usr/bin/abs')
  t.equal(lstatSync(join(dest, 'usr/bin/abs-link')).ino, lstatSync(join(dest, 'usr/bin/abs')).ino)
})

t.test('malformed packages', async (t) => {
  const dir = t.testdir({ 'not-ar.deb': 'hello world, not an archive' })
  await t.rejects(extractDeb(join(dir, 'not-ar.deb'), join(dir, 'r'), { runner }), IntegrityError)
  const v3 = await makeDeb(join(dir, 'v3.deb'), [{ name: './', type: 'directory' }], { version: '3.0' })
  await t.rejects(extractDeb(v3, join(dir, 'r'), { runner }), /unsupported \.deb format version "3\.0"/)
  writeFileSync(join(dir, 'nodata.deb'), makeAr([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]))
  await t.rejects(extractDeb(join(dir, 'nodata.deb'), join(dir, 'r'), { runner }), /no data\.tar member/)
  const good = readFileSync(await makeDeb(join(dir, 'good.deb'), [{ name: './a', body: 'a'.repeat(1000) }]))
  writeFileSync(join(dir, 'truncated.deb'), good.subarray(0, good.length - 100))
  await t.rejects(extractDeb(join(dir, 'truncated.deb'), join(dir, 'r'), { runner }), /truncated/)
})

t.test('a symlinked directory in the tree is kept (merged /usr)', async (t) => {
  const dir = t.testdir({ root: { usr: { bin: {} }, etc: { 'f.conf': 'old' } } })
  const dest = join(dir, 'root')
  symlinkSync('usr/bin', join(dest, 'bin'))
  symlinkSync('etc/f.conf', join(dest, 'was-file-link'))
  const deb = await makeDeb(join(dir, 'merged.deb'), [
    { name: './', type: 'directory' },
    { name: './bin/', type: 'directory' },
    { name: './bin/sh', body: 'shell', mode: 0o755 },
    { name: './was-file-link/', type: 'directory', mode: 0o750 },
  ])
  await extractDeb(deb, dest, { runner })
  t.equal(readlinkSync(join(dest, 'bin')), 'usr/bin', 'the symlink is kept')
  t.equal(readFileSync(join(dest, 'usr/bin/sh'), 'utf8'), 'shell')
  t.ok(lstatSync(join(dest, 'was-file-link')).isDirectory(), 'a symlink to a file is replaced by the directory')
  t.equal(statSync(join(dest, 'was-file-link')).mode & 0o7777, 0o750)
  t.equal(readFileSync(join(dest, 'etc/f.conf'), 'utf8'), 'old', 'and its target is left alone')
})
