// The real server on a free loopback port, over files in a temporary folder.
import { createServer as createTcpServer, connect, type Server } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { UserError } from '../errors/index.js'
import { createMemoryLogger } from '../log/index.js'
import { checkServedImages, resolveServedImage, startServer, type RunningServer } from './server.js'

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function get(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', fail)
    req.end()
  })
}

/** A request line sent as is, byte for byte, as a hostile client would. */
function rawRequest(port: number, requestLine: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let text = ''
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    socket.on('end', () => done(text))
    socket.on('error', fail)
  })
}

const kernelBytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251))

async function fixture(t: Test): Promise<{ dir: string; server: RunningServer; log: ReturnType<typeof createMemoryLogger> }> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-serve-'))
  await writeFile(join(dir, 'minimal-kernel'), kernelBytes)
  await writeFile(join(dir, 'minimal-initrd.img'), 'initrd bytes')
  await writeFile(join(dir, 'minimal-cmdline'), 'console=ttyS0\n')
  await writeFile(join(dir, 'minimal-sbom.spdx.json'), '{}')
  await writeFile(join(dir, 'other-kernel'), 'k2')
  await writeFile(join(dir, 'other-initrd.img'), 'i2')
  const images = [await resolveServedImage(join(dir, 'minimal'), '/'), await resolveServedImage('second=other-kernel', dir)]
  const log = createMemoryLogger('info')
  const server = await startServer({ images, listen: { host: '127.0.0.1', port: 0 }, cmdlineAppend: 'ip=dhcp', log })
  t.teardown(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, server, log }
}

t.test('scripts name the host the client asked for and carry --cmdline-append', async (t) => {
  const { server, log } = await fixture(t)
  const { port } = server.address
  t.same(server.baseUrls, [`http://127.0.0.1:${port}`])
  const def = await get(port, '/ipxe', { headers: { Host: `10.0.2.2:${port}` } })
  t.equal(def.status, 200)
  t.equal(def.body.toString(), [
    '#!ipxe',
    '# keel serve: minimal',
    `echo keel: booting minimal from http://10.0.2.2:${port}/minimal`,
    `kernel http://10.0.2.2:${port}/minimal/kernel initrd=initrd.img console=ttyS0 ip=dhcp`,
    `initrd --name initrd.img http://10.0.2.2:${port}/minimal/initrd.img`,
    'boot',
    '',
  ].join('\n'))
  const second = await get(port, '/second/ipxe')
  t.match(second.body.toString(), `kernel http://127.0.0.1:${port}/second/kernel initrd=initrd.img ip=dhcp\n`, 'no cmdline file: only the appended text')
  t.match((await get(port, '/')).body.toString(), 'second\n', 'the index lists both')
  t.match(log.lines.join('\n'), new RegExp(`^keel: 127\\.0\\.0\\.1 GET /ipxe 200 ${def.body.length} bytes`, 'm'), 'each request is logged')
})

t.test('files: whole, HEAD, one byte range, 416 past the end', async (t) => {
  const { server, dir } = await fixture(t)
  const { port } = server.address
  const whole = await get(port, '/minimal/kernel')
  t.equal(whole.status, 200)
  t.equal(whole.headers['content-length'], String(kernelBytes.length))
  t.equal(whole.headers['accept-ranges'], 'bytes')
  t.ok(whole.body.equals(kernelBytes), 'the bytes of the file')

  const head = await get(port, '/minimal/kernel', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], String(kernelBytes.length), 'HEAD gives the length')
  t.equal(head.body.length, 0, 'and no body')

  const part = await get(port, '/minimal/kernel', { headers: { Range: 'bytes=1000-1999' } })
  t.equal(part.status, 206)
  t.equal(part.headers['content-range'], `bytes 1000-1999/${kernelBytes.length}`)
  t.equal(part.headers['content-length'], '1000')
  t.ok(part.body.equals(kernelBytes.subarray(1000, 2000)), 'the bytes of the range')

  const tail = await get(port, '/minimal/kernel', { headers: { Range: 'bytes=-5' } })
  t.ok(tail.body.equals(kernelBytes.subarray(-5)), 'a suffix range')

  const past = await get(port, '/minimal/kernel', { headers: { Range: `bytes=${kernelBytes.length}-` } })
  t.equal(past.status, 416)
  t.equal(past.headers['content-range'], `bytes */${kernelBytes.length}`)

  // A rebuilt image is served with its new length.
  await writeFile(join(dir, 'minimal-initrd.img'), 'a longer initrd than before')
  const rebuilt = await get(port, '/minimal/initrd.img')
  t.equal(rebuilt.headers['content-length'], String('a longer initrd than before'.length))
  t.equal(rebuilt.body.toString(), 'a longer initrd than before')
})

t.test('nothing but the named files: traversal, other files of the prefix, other methods', async (t) => {
  const { server } = await fixture(t)
  const { port } = server.address
  for (const line of [
    'GET /../etc/passwd HTTP/1.1', 'GET /minimal/../../../../etc/passwd HTTP/1.1', 'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1',
    'GET /minimal/..%2f..%2fetc%2fpasswd HTTP/1.1', 'GET /minimal/sbom.spdx.json HTTP/1.1', 'GET /minimal-sbom.spdx.json HTTP/1.1',
    'GET /minimal/cmdline HTTP/1.1', 'GET /etc/passwd HTTP/1.1',
  ]) {
    const reply = await rawRequest(port, line)
    t.match(reply, /^HTTP\/1\.1 404 /, `${line}: 404`)
    t.notMatch(reply, /root:/, `${line}: no file content`)
  }
  const post = await get(port, '/ipxe', { method: 'POST' })
  t.equal(post.status, 405)
  t.equal(post.headers.allow, 'GET, HEAD')
})

t.test('a file gone at request time is a 404 and a warning naming it', async (t) => {
  const { server, dir, log } = await fixture(t)
  await rm(join(dir, 'other-kernel'))
  t.equal((await get(server.address.port, '/second/kernel')).status, 404)
  t.match(log.lines.join('\n'), `keel: warning: ${join(dir, 'other-kernel')}: `)
})

t.test('bad images: a missing file is named, names must be usable and distinct', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-serve-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'a-kernel'), 'k')
  await t.rejects(resolveServedImage('a', dir), { name: 'UserError', message: `a: ${join(dir, 'a-initrd.img')} not found` })
  await t.rejects(resolveServedImage('nothing', dir), { message: `nothing: ${join(dir, 'nothing-kernel')} not found` })
  await writeFile(join(dir, 'a-initrd.img'), 'i')
  t.same(await resolveServedImage('a-initrd.img', dir), { name: 'a', kernel: join(dir, 'a-kernel'), initrd: join(dir, 'a-initrd.img'), cmdline: undefined }, 'named by any of its files')
  await t.rejects(resolveServedImage('ipxe=a', dir), { message: /taken by the default script/ })
  await t.rejects(resolveServedImage('a b=a', dir), { message: /must be letters, digits/ })
  const one = await resolveServedImage('a', dir)
  t.throws(() => checkServedImages([one, one]), UserError)
})

t.test('a port in use is a clear error naming the address', async (t) => {
  const blocker: Server = createTcpServer()
  await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', () => done()))
  t.teardown(() => new Promise<void>((done) => blocker.close(() => done())))
  const port = (blocker.address() as { port: number }).port
  await t.rejects(startServer({ images: [], listen: { host: '127.0.0.1', port }, log: createMemoryLogger() }), {
    name: 'UserError', message: `cannot listen on 127.0.0.1:${port}: 127.0.0.1:${port} is already in use`,
  })
})
