import t from 'tap'
import { link, mkdir, symlink, writeFile, chmod, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import tar from 'tar-stream'
import { packDirectory, comparePaths } from './pack-dir.js'

async function collect(stream: unknown): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

async function listTar(data: Buffer): Promise<tar.Header[]> {
  const ex = tar.extract()
  const headers: tar.Header[] = []
  const done = (async () => {
    for await (const entry of ex) {
      headers.push(entry.header)
      entry.resume()
    }
  })()
  ex.end(data)
  await done
  return headers
}

async function makeTree(root: string, mtime: number): Promise<void> {
  await mkdir(join(root, 'b/sub'), { recursive: true })
  await mkdir(join(root, 'a'), { recursive: true })
  await writeFile(join(root, 'b/sub/file'), 'hello\n')
  await writeFile(join(root, 'a.txt'), 'x')
  await chmod(join(root, 'a.txt'), 0o4755)
  await link(join(root, 'b/sub/file'), join(root, 'a/hard'))
  await symlink('../b/sub/file', join(root, 'a/sym'))
  await utimes(join(root, 'a.txt'), mtime, mtime)
}

t.test('packing a folder twice gives the same bytes, sorted, with fixed times and owners', async (t) => {
  const one = t.testdir()
  await makeTree(one, 1000)
  const two = t.testdir()
  await makeTree(two, 2000)
  const a = await collect(packDirectory(one, { mtime: 0 }))
  const b = await collect(packDirectory(two, { mtime: 0 }))
  t.ok(a.equals(b), 'identical tars from different folders and times')
  const headers = await listTar(a)
  const names = headers.map((h) => h.name)
  t.same(names, [...names].sort(comparePaths), 'sorted')
  t.same(names, ['a', 'a/hard', 'a/sym', 'a.txt', 'b', 'b/sub', 'b/sub/file'])
  for (const h of headers) {
    t.equal(h.uid, 0)
    t.equal(h.mtime.getTime(), 0)
  }
  const byName = new Map(headers.map((h) => [h.name, h]))
  t.equal(byName.get('a/hard')?.type, 'file', 'first path of an inode carries the data')
  t.equal(byName.get('b/sub/file')?.type, 'link', 'later path of the same inode is a hardlink')
  t.equal(byName.get('b/sub/file')?.linkname, 'a/hard')
  t.equal(byName.get('a/sym')?.linkname, '../b/sub/file')
  t.equal(byName.get('a.txt')?.mode, 0o4755, 'setuid kept')
})

t.test('overrides and extra entries', async (t) => {
  const dir = t.testdir({ etc: { shadow: 'x' } })
  const data = await collect(packDirectory(dir, {
    mtime: 42,
    overrides: new Map([['etc/shadow', { uid: 0, gid: 42, mode: 0o640 }]]),
    extras: [
      { path: 'dev', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
      { path: 'dev/console', type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 },
    ],
  }))
  const headers = await listTar(data)
  t.same(headers.map((h) => h.name), ['dev', 'dev/console', 'etc', 'etc/shadow'])
  const console = headers[1]!
  t.equal(console.type, 'character-device')
  t.equal(console.devmajor, 5)
  t.equal(console.devminor, 1)
  t.equal(headers[3]!.gid, 42)
  t.equal(headers[3]!.mode, 0o640)
  t.equal(headers[3]!.mtime.getTime(), 42000)
})

t.test('a fifo in the folder is refused', async (t) => {
  const dir = t.testdir({})
  const { execFileSync } = await import('node:child_process')
  execFileSync('mkfifo', [join(dir, 'pipe')])
  await t.rejects(collect(packDirectory(dir, { mtime: 0 })), /unsupported file type/)
})

t.test('comparePaths puts a folder right before its contents', async (t) => {
  t.same(['a.txt', 'a/b', 'a', 'b', 'a/b/c', 'A'].sort(comparePaths), ['A', 'a', 'a/b', 'a/b/c', 'a.txt', 'b'])
})
