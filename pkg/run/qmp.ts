// A small client for QEMU's machine protocol (QMP): JSON objects, one a line,
// over a Unix socket. QEMU greets first ({"QMP": ...}); the client leaves
// capabilities negotiation with {"execute": "qmp_capabilities"}; after that
// each command gets one reply ({"return": ...} or {"error": ...}), in order,
// with asynchronous events ({"event": ...}) in between.
import { connect, type Socket } from 'node:net'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'

export class QmpError extends Error {
  readonly errorClass: string
  constructor(command: string, errorClass: string, desc: string) {
    super(`QMP ${command}: ${desc} (${errorClass})`)
    this.name = 'QmpError'
    this.errorClass = errorClass
  }
}

export interface QmpEvent {
  event: string
  data?: unknown
  timestamp?: { seconds: number; microseconds: number }
}

interface Pending {
  command: string
  resolve(value: unknown): void
  reject(err: Error): void
}

/** Unix socket paths are limited to 107 bytes; a longer one is reached through a short symlink to its folder. */
const maxSocketPath = 100

export class QmpClient {
  /** QEMU's greeting: its version and capabilities. */
  greeting: unknown
  readonly events: QmpEvent[] = []
  private readonly socket: Socket
  private buffer = ''
  private readonly pending: Pending[] = []
  private readonly eventWaiters: Array<{ name: string; resolve(e: QmpEvent): void }> = []
  private closedError: Error | undefined
  private greeted: ((g: unknown) => void) | undefined

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.receive(chunk))
    socket.on('close', () => this.fail(new Error('QMP: QEMU closed the connection')))
    socket.on('error', (err) => this.fail(new Error(`QMP: ${err.message}`, { cause: err })))
  }

  /** Connects to QEMU's QMP socket and leaves negotiation mode, within `timeoutMs`. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    let link: string | undefined
    let target = path
    if (path.length > maxSocketPath) {
      link = await mkdtemp(join(tmpdir(), 'keel-qmp-'))
      await rm(link, { recursive: true })
      await symlink(dirname(path), link)
      target = join(link, basename(path))
    }
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect(target)
        const timer = setTimeout(() => { s.destroy(); reject(new Error(`QMP: no answer from ${path} within ${timeoutMs} ms`)) }, timeoutMs)
        s.once('connect', () => { clearTimeout(timer); resolve(s) })
        s.once('error', (err) => { clearTimeout(timer); reject(new Error(`QMP: cannot connect to ${path}: ${err.message}`, { cause: err })) })
      })
      const client = new QmpClient(socket)
      await client.handshake(timeoutMs)
      return client
    } finally {
      if (link !== undefined) await rm(link, { force: true })
    }
  }

  private handshake(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.socket.destroy(); reject(new Error(`QMP: no greeting within ${timeoutMs} ms`)) }, timeoutMs)
      this.greeted = (g) => {
        clearTimeout(timer)
        this.greeting = g
        this.execute('qmp_capabilities').then(() => resolve(), reject)
      }
      this.pending.push({ command: '(greeting)', resolve: () => undefined, reject: (e) => { clearTimeout(timer); reject(e) } })
    })
  }

  /** Runs a command; resolves with its "return" value, rejects with QmpError on an "error" reply. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) return Promise.reject(new Error(`QMP ${command}: the connection to QEMU is closed (${this.closedError.message})`, { cause: this.closedError }))
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve, reject })
      this.socket.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`)
    })
  }

  /** Resolves with the first event named `name` (one already received counts). */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    const seen = this.events.find((e) => e.event === name)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const waiter = { name, resolve: (e: QmpEvent) => { clearTimeout(timer); resolve(e) } }
      const timer = setTimeout(() => {
        this.eventWaiters.splice(this.eventWaiters.indexOf(waiter), 1)
        reject(new Error(`QMP: no ${name} event within ${timeoutMs} ms`))
      }, timeoutMs)
      this.eventWaiters.push(waiter)
    })
  }

  /** Resolves when QEMU closes the connection (as it does when it exits). */
  whenClosed(): Promise<void> {
    if (this.closedError) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  close(): void {
    this.socket.destroy()
  }

  private receive(chunk: string): void {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).trim()
      this.buffer = this.buffer.slice(nl + 1)
      if (line === '') continue
      let msg: Record<string, unknown>
      try {
        msg = JSON.parse(line) as Record<string, unknown>
      } catch {
        this.fail(new Error(`QMP: not JSON: ${line.slice(0, 200)}`))
        this.socket.destroy()
        return
      }
      this.dispatch(msg)
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    if ('QMP' in msg && this.greeted) {
      const greeted = this.greeted
      this.greeted = undefined
      this.pending.shift()
      greeted(msg.QMP)
    } else if (typeof msg.event === 'string') {
      const e = msg as unknown as QmpEvent
      this.events.push(e)
      for (const w of this.eventWaiters.filter((x) => x.name === e.event)) {
        this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1)
        w.resolve(e)
      }
    } else if ('return' in msg || 'error' in msg) {
      const p = this.pending.shift()
      if (!p) return
      if ('error' in msg) {
        const err = msg.error as { class?: string; desc?: string }
        p.reject(new QmpError(p.command, err.class ?? 'GenericError', err.desc ?? 'failed'))
      } else p.resolve(msg.return)
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return
    this.closedError = err
    for (const p of this.pending.splice(0)) p.reject(err)
  }
}
