import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { readTar, type TarHeader } from './reader.js'

async function list(data: Buffer, limits?: Parameters<typeof readTar>[1]): Promise<Array<TarHeader & { content: string }>> {
  const out: Array<TarHeader & { content: string }> = []
  // Feed in small odd-sized chunks to exercise the buffering.
  const chunks: Buffer[] = []
  for (let i = 0; i < data.length; i += 333) chunks.push(data.subarray(i, i + 333))
  for await (const e of readTar(Readable.from(chunks), limits)) {
    const parts: Buffer[] = []
    if (e.header.name.endsWith('skipme')) await e.skip()
    else for await (const c of e.body()) parts.push(c)
    out.push({ ...e.header, content: Buffer.concat(parts).toString() })
  }
  return out
}

async function packed(entries: Array<{ h: Record<string, unknown>; body?: string }>): Promise<Buffer> {
  const p = tar.pack()
  const chunks: Buffer[] = []
  const done = (async () => { for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c)) })()
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res())
      if (e.body !== undefined) p.entry(e.h as never, e.body, cb)
      else p.entry(e.h as never, cb)
    })
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

t.test('reads what GNU tar writes: files, dirs, symlinks, hardlinks, long names, devices', async (t) => {
  const dir = t.testdir({})
  const src = join(dir, 'src')
  mkdirSync(join(src, 'd'), { recursive: true })
  writeFileSync(join(src, 'd', 'f'), 'hello')
  const long = 'x'.repeat(150)
  writeFileSync(join(src, long), 'long')
  symlinkSync('d/f', join(src, 'link'))
  execFileSync('ln', [join(src, 'd', 'f'), join(src, 'hard')])
  for (const format of ['gnu', 'posix', 'ustar']) {
    if (format === 'ustar') continue // ustar cannot hold the long name
    const archive = execFileSync('tar', [`--format=${format}`, '-C', src, '--sort=name', '-cf', '-', '.'])
    const entries = await list(archive)
    const by = new Map(entries.map((e) => [e.name.replace(/^\.\//, ''), e]))
    t.equal(by.get('d/f')?.content, 'hello', `${format}: file`)
    t.equal(by.get('d')?.type, 'directory')
    t.equal(by.get(long)?.content, 'long', `${format}: long name`)
    t.equal(by.get('link')?.type, 'symlink')
    t.equal(by.get('link')?.linkname, 'd/f')
    t.equal(by.get('hard')?.type === 'link' || by.get('d/f')?.type === 'link', true, `${format}: hardlink`)
  }
})

t.test('PAX records: path, size, xattrs; bodies can be skipped', async (t) => {
  const data = await packed([
    { h: { name: 'a'.repeat(120), type: 'file', mode: 0o644, pax: { 'SCHILY.xattr.user.k': 'v' } }, body: 'A' },
    { h: { name: 'skipme', type: 'file', mode: 0o600 }, body: 'B'.repeat(2000) },
    { h: { name: 'c', type: 'file', mode: 0o4755, uid: 1000, gid: 1000, mtime: new Date(1700000000000) }, body: 'C' },
    { h: { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 } },
  ])
  const entries = await list(data)
  t.equal(entries.length, 4)
  t.equal(entries[0]!.name, 'a'.repeat(120))
  t.same(entries[0]!.xattrs, { 'user.k': 'v' })
  t.equal(entries[1]!.content, '', 'skipped')
  t.match(entries[2], { content: 'C', mode: 0o4755, uid: 1000, gid: 1000, mtime: 1700000000 })
  t.match(entries[3], { type: 'char', devmajor: 1, devminor: 3 })
})

t.test('hostile archives are refused with the entry named', async (t) => {
  const good = await packed([{ h: { name: 'f', type: 'file' }, body: 'x' }])
  const corrupt = Buffer.from(good)
  corrupt[10] = 0x41
  await t.rejects(list(corrupt), /bad header checksum/)
  await t.rejects(list(good.subarray(0, 600)), /truncated archive/)
  const bigPax = await packed([{ h: { name: 'p', type: 'file', pax: { comment: 'y'.repeat(5000) } }, body: 'x' }])
  await t.rejects(list(bigPax, { maxNameBytes: 4096, maxPaxBytes: 1024, maxEntryBytes: 1e9 }), /PAX header of \d+ bytes exceeds the 1024-byte limit/)
  const longName = await packed([{ h: { name: 'n'.repeat(300), type: 'file' }, body: 'x' }])
  await t.rejects(list(longName, { maxNameBytes: 200, maxPaxBytes: 1e6, maxEntryBytes: 1e9 }), /name longer than 200 bytes/)
  const big = await packed([{ h: { name: 'big', type: 'file' }, body: 'z'.repeat(3000) }])
  await t.rejects(list(big, { maxNameBytes: 4096, maxPaxBytes: 1e6, maxEntryBytes: 1000 }), /"big": 3000 bytes exceeds the 1000-byte limit/)
  const weird = Buffer.from(good)
  weird[156] = 'S'.charCodeAt(0) // sparse
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : weird[i]!
  weird.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  await t.rejects(list(weird), /unsupported tar entry type "S"/)
})

t.test('an empty input and a lone end marker are empty archives', async (t) => {
  t.same(await list(Buffer.alloc(0)), [])
  t.same(await list(Buffer.alloc(1024)), [])
  t.ok(readFileSync)
})
