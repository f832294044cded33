// The HTTP server behind `keel serve`: a fixed table of URLs (ipxe.ts) over
// the image files the user named. GET and HEAD only; single byte ranges.
import { createReadStream } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { basename, resolve } from 'node:path'
import { UserError, errorMessage } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import {
  baseUrlFor, checkImageName, composeCmdline, parseRange, renderIndex, renderIpxeScript, routeRequest,
  type ListenAddress, type ServedImage,
} from './ipxe.js'

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/**
 * An image from the command line: PREFIX (or one of its files,
 * PREFIX-kernel, -initrd.img, -cmdline), or NAME=PREFIX to choose its name
 * in URLs. PREFIX-kernel and PREFIX-initrd.img must exist; PREFIX-cmdline
 * may not (an empty command line, as `keel run qemu` does).
 */
export async function resolveServedImage(spec: string, cwd: string): Promise<ServedImage> {
  const eq = /^([^/=]+)=(.+)$/.exec(spec)
  const prefix = resolve(cwd, eq ? eq[2]! : spec).replace(/-(kernel|initrd\.img|cmdline)$/, '')
  const name = eq ? eq[1]! : basename(prefix)
  const problem = checkImageName(name)
  if (problem) throw new UserError(`${spec}: ${problem}`, { hint: 'name it with NAME=PREFIX' })
  const kernel = `${prefix}-kernel`
  const initrd = `${prefix}-initrd.img`
  for (const file of [kernel, initrd]) {
    if (!(await isFile(file))) {
      throw new UserError(`${spec}: ${file} not found`, { hint: `keel serve takes a kernel+initrd prefix: build one with keel build -o DIR MANIFEST (format kernel+initrd)` })
    }
  }
  const cmdline = `${prefix}-cmdline`
  return { name, kernel, initrd, cmdline: (await isFile(cmdline)) ? cmdline : undefined }
}

/** Checks a list of images for clashing names. */
export function checkServedImages(images: readonly ServedImage[]): void {
  const seen = new Set<string>()
  for (const image of images) {
    if (seen.has(image.name)) throw new UserError(`two images are named ${JSON.stringify(image.name)}`, { hint: 'name them apart with NAME=PREFIX' })
    seen.add(image.name)
  }
}

export interface ServeOptions {
  images: ServedImage[]
  listen: ListenAddress
  /** Appended to every image's kernel command line. */
  cmdlineAppend?: string
  /** Each request is logged at info. */
  log: Logger
}

export interface RunningServer {
  /** The address and port actually bound (port 0 becomes a real one). */
  address: { host: string; port: number }
  /** http://HOST:PORT for each address a machine could use to reach the server. */
  baseUrls: string[]
  /** Stops listening and drops open connections. */
  close(): Promise<void>
}

/** Starts serving; rejects with a UserError when the address cannot be bound. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const server = createServer((req, res) => {
    handleRequest(req, res, options).catch((err: unknown) => {
      options.log.warn(`${req.method} ${printable(req.url ?? '')}: ${errorMessage(err)}`)
      if (!res.headersSent) sendText(res, req, 500, 'internal error\n')
      else res.destroy()
    })
  })
  await listen(server, options.listen)
  // After listening, a server error (say, out of file descriptors on
  // accept) is logged rather than thrown from an event handler.
  server.on('error', (err) => options.log.warn(`server: ${errorMessage(err)}`))
  const bound = server.address() as AddressInfo
  const address = { host: bound.address, port: bound.port }
  return {
    address,
    baseUrls: reachableBaseUrls(address),
    close: () => new Promise<void>((done) => {
      server.close(() => done())
      server.closeAllConnections()
    }),
  }
}

function listen(server: Server, at: ListenAddress): Promise<void> {
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`
  return new Promise((done, fail) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hints: Record<string, string> = {
        EADDRINUSE: `${where} is already in use`,
        EACCES: `no permission to listen on ${where} (ports below 1024 need root)`,
        EADDRNOTAVAIL: `no network interface on this machine has the address ${at.host}`,
        ENOTFOUND: `${at.host} is not a known host name`,
      }
      const message = hints[err.code ?? ''] ?? errorMessage(err)
      fail(new UserError(`cannot listen on ${where}: ${message}`, { hint: 'choose another address or port with --listen ADDR:PORT', cause: err }))
    }
    server.once('error', onError)
    server.listen(at.port, at.host, () => {
      server.off('error', onError)
      done()
    })
  })
}

/** For 0.0.0.0 or ::, every non-loopback address of this machine; otherwise the bound one. */
function reachableBaseUrls(address: { host: string; port: number }): string[] {
  const wildcard = address.host === '0.0.0.0' || address.host === '::'
  if (!wildcard) return [baseUrlFor(undefined, { address: address.host, port: address.port })]
  const urls: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (address.host === '0.0.0.0' && a.family !== 'IPv4') || (a.family === 'IPv6' && a.scopeid !== 0)) continue
      urls.push(baseUrlFor(undefined, { address: a.address, port: address.port }))
    }
  }
  return urls.length > 0 ? urls : [baseUrlFor(undefined, { address: address.host, port: address.port })]
}

/** A URL or header as logged: control characters shown escaped, so a request cannot rewrite the terminal. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

async function handleRequest(req: IncomingMessage, res: ServerResponse, options: ServeOptions): Promise<void> {
  const started = Date.now()
  res.on('close', () => {
    const length = res.getHeader('content-length')
    const outcome = res.writableFinished ? `${res.statusCode}${length === undefined ? '' : ` ${length} bytes`}` : `${res.statusCode} cut off by the client`
    options.log.info(`${req.socket.remoteAddress ?? '?'} ${printable(req.method ?? '?')} ${printable(req.url ?? '')} ${outcome} (${Date.now() - started} ms)`)
  })
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    sendText(res, req, 405, 'only GET and HEAD\n')
    return
  }
  const route = routeRequest(req.url ?? '', options.images)
  const local = { address: req.socket.localAddress ?? '127.0.0.1', port: req.socket.localPort ?? 0 }
  const baseUrl = baseUrlFor(req.headers.host, local)
  switch (route.kind) {
    case 'not-found':
      sendText(res, req, 404, 'not found\n')
      return
    case 'index':
      sendText(res, req, 200, renderIndex(options.images, baseUrl))
      return
    case 'script': {
      const fileText = route.image.cmdline === undefined ? '' : await readFile(route.image.cmdline, 'utf8')
      sendText(res, req, 200, renderIpxeScript(route.image, composeCmdline(fileText, options.cmdlineAppend ?? ''), baseUrl))
      return
    }
    case 'file':
      await sendFile(req, res, route.path, options.log)
      return
  }
}

/** Headers set one by one (not through writeHead's argument), so the request log can read Content-Length back. */
function writeHead(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.writeHead(status)
}

function sendText(res: ServerResponse, req: IncomingMessage, status: number, body: string): void {
  const bytes = Buffer.from(body, 'utf8')
  writeHead(res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

/** One image file, whole or one byte range; the size is read at request time, so a rebuilt image is served right. */
async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, log: Logger): Promise<void> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    log.warn(`${path}: ${errorMessage(err)}`)
    sendText(res, req, 404, 'not found\n')
    return
  }
  let handedOver = false
  try {
    const info = await fh.stat()
    const size = info.size
    const range = parseRange(req.headers.range, size)
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Last-Modified': info.mtime.toUTCString(),
      'Cache-Control': 'no-store',
    }
    if (range === 'unsatisfiable') {
      writeHead(res, 416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 })
      res.end()
      return
    }
    const { start, end } = range ?? { start: 0, end: size - 1 }
    headers['Content-Length'] = end - start + 1
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
    writeHead(res, range ? 206 : 200, headers)
    if (req.method === 'HEAD' || size === 0) {
      res.end()
      return
    }
    const stream = createReadStream('', { fd: fh, start, end, autoClose: true })
    handedOver = true
    stream.on('error', (err) => {
      log.warn(`reading ${path}: ${errorMessage(err)}`)
      res.destroy()
    })
    res.on('close', () => stream.destroy())
    stream.pipe(res)
  } finally {
    if (!handedOver) await fh.close()
  }
}
