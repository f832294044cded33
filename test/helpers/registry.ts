// Registries for tests: a real one (Debian's docker-registry, distribution
// 2.8) on 127.0.0.1, and small hand-written HTTP servers that misbehave on
// purpose.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './net.js'

export const registryBinary = '/usr/bin/docker-registry'

export interface StartedRegistry {
  /** "127.0.0.1:PORT" */
  host: string
  /** "http://127.0.0.1:PORT" */
  url: string
  /** Temp dir holding config, storage, htpasswd and the log (removed at teardown). */
  dir: string
  /** The registry's log so far (for failure messages). */
  log(): string
}


function htpasswdLine(user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('htpasswd', ['-Bbn', user, password], (err, stdout) => {
      if (err) reject(err)
      else resolve(stdout.trim())
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A running registry that the caller stops. */
export interface LaunchedRegistry extends StartedRegistry {
  /** Stops the registry and removes its dir. */
  stop(): Promise<void>
}

/**
 * Runs `docker-registry serve` on a free port of 127.0.0.1 with storage in a
 * temp dir; with `auth`, behind htpasswd (Basic) authentication. Stopped (and
 * its dir removed) at the end of `t`.
 */
export async function startRegistry(t: Test, options: { auth?: { user: string; password: string } } = {}): Promise<StartedRegistry> {
  const launched = await launchRegistry(options)
  t.teardown(() => launched.stop())
  return launched
}

/** Like startRegistry, for scripts without a test (bench/): the caller calls stop(). */
export async function launchRegistry(options: { auth?: { user: string; password: string } } = {}): Promise<LaunchedRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-registry-'))
  const logFile = join(dir, 'registry.log')
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8')
    } catch {
      return ''
    }
  }
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child?.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
    await rm(dir, { recursive: true, force: true })
  }

  let authConfig = ''
  if (options.auth) {
    const htpasswd = join(dir, 'htpasswd')
    await writeFile(htpasswd, `${await htpasswdLine(options.auth.user, options.auth.password)}\n`)
    authConfig = `auth:\n  htpasswd:\n    realm: keel-test\n    path: ${htpasswd}\n`
  }

  // The port may be taken between choosing and binding it; try a few.
  for (let tries = 1; ; tries++) {
    const port = await freePort()
    const host = `127.0.0.1:${port}`
    const config = join(dir, 'config.yml')
    await writeFile(config, [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${host}`,
      '  secret: keel-test-secret',
      'health:',
      '  storagedriver:',
      '    enabled: false',
      authConfig,
    ].join('\n'))
    const fd = openSync(logFile, 'a')
    const proc = spawn(registryBinary, ['serve', config], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    child = proc
    let gone = false
    exited = new Promise<void>((resolve) => {
      proc.on('exit', () => {
        gone = true
        resolve()
      })
      proc.on('error', () => {
        gone = true
        resolve()
      })
    })
    const url = `http://${host}`
    const deadline = Date.now() + 20_000
    while (!gone && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) })
        await res.body?.cancel()
        if (res.status === 200 || res.status === 401) return { host, url, dir, log: readLog, stop }
      } catch {
        // not up yet
      }
      await sleep(50)
    }
    if (!gone) {
      proc.kill('SIGKILL')
      await exited
      const log = readLog()
      await stop()
      throw new Error(`docker-registry did not answer on ${url} within 20 s; its log:\n${log}`)
    }
    if (tries >= 3) {
      const log = readLog()
      await stop()
      throw new Error(`docker-registry exited at start (${tries} tries); its log:\n${log}`)
    }
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>

export interface FakeServer {
  /** "127.0.0.1:PORT" */
  host: string
  url: string
  server: Server
  /** Every request seen: method, path with query, headers, body. */
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>
}

/**
 * A plain HTTP server on `address` (default 127.0.0.1) running `handler`
 * for each request (after reading its body); closed at the end of `t`.
 */
export async function startFakeServer(t: Test, handler: Handler, address = '127.0.0.1'): Promise<FakeServer> {
  const requests: FakeServer['requests'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => undefined)
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      Promise.resolve(handler(req, res, body)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500)
        res.end(String(err))
      })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, () => resolve())
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const host = `${address}:${addr.port}`
  return { host, url: `http://${host}`, server, requests }
}
