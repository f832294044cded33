// A small NTP server (the server side of SNTP, RFC 4330) for boot tests: it
// answers every client request on a UDP port of 127.0.0.1 with this host's
// clock, as a stratum 1 server. A guest on QEMU's user network reaches it at
// 10.0.2.2 on the same port. No NTP server is reachable from the test
// machines, and the host's own chronyd (Debian's chrony) would start as a
// system service that sets the host's clock, so the tests run this one.
//
//   node dist/test/helpers/sntp-server.js --port PORT
//       [--until-file FILE --until REGEX] [--timeout SECONDS]
//
// With --until, it stops (exit 0) once FILE (a console log) has a line
// matching REGEX; it fails (exit 1) when --timeout (default 120) passes
// first. Each request answered is printed.
import { createSocket, type Socket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

/** Seconds from the NTP era (1900) to the Unix epoch. */
const ntpEpochOffset = 2208988800

/** Writes a time (Unix milliseconds) as a 64-bit NTP timestamp at `at`. */
export function writeNtpTime(buf: Buffer, at: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000)
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32)
  buf.writeUInt32BE((seconds + ntpEpochOffset) >>> 0, at)
  buf.writeUInt32BE(fraction >>> 0, at + 4)
}

/** Reads a 64-bit NTP timestamp at `at` as Unix milliseconds. */
export function readNtpTime(buf: Buffer, at: number): number {
  return (buf.readUInt32BE(at) - ntpEpochOffset) * 1000 + (buf.readUInt32BE(at + 4) / 2 ** 32) * 1000
}

/**
 * The reply to one client request, or undefined for what is not a client
 * request (too short, or another mode). `received` is when the request
 * came, `now` gives the time the reply leaves.
 */
export function ntpReply(request: Buffer, received: number, now: () => number = Date.now): Buffer | undefined {
  if (request.length < 48) return undefined
  const version = (request[0]! >> 3) & 7
  const mode = request[0]! & 7
  if (mode !== 3 || version < 1 || version > 4) return undefined
  const reply = Buffer.alloc(48)
  reply[0] = (0 << 6) | (version << 3) | 4 // no leap warning, the client's version, server
  reply[1] = 1 // stratum 1: a reference clock of its own (this host's)
  reply[2] = request[2]! // the client's poll interval
  reply[3] = 0xec // precision 2^-20 s
  reply.writeUInt32BE(0, 4) // root delay
  reply.writeUInt32BE(0x10, 8) // root dispersion: a quarter of a millisecond
  reply.write('LOCL', 12, 'ascii') // reference id
  writeNtpTime(reply, 16, received) // reference: the clock was read just now
  request.copy(reply, 24, 40, 48) // origin: the client's transmit timestamp, as sent
  writeNtpTime(reply, 32, received)
  writeNtpTime(reply, 40, now())
  return reply
}

export interface NtpServer {
  port: number
  /** Requests answered so far. */
  served: number
  close(): Promise<void>
}

export async function startNtpServer(port = 0, onRequest?: (from: string) => void): Promise<NtpServer> {
  const socket: Socket = createSocket('udp4')
  const server: NtpServer = {
    port: 0,
    served: 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
  socket.on('message', (msg, rinfo) => {
    const reply = ntpReply(msg, Date.now())
    if (reply === undefined) return
    socket.send(reply, rinfo.port, rinfo.address)
    server.served++
    onRequest?.(`${rinfo.address}:${rinfo.port}`)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, '127.0.0.1', () => resolve())
  })
  server.port = socket.address().port
  return server
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'until-file': { type: 'string' }, until: { type: 'string' }, timeout: { type: 'string' } },
  })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('sntp-server: --port PORT is needed (1-65535)\n')
    return 2
  }
  const until = values.until === undefined ? undefined : new RegExp(values.until, 'm')
  const timeoutMs = Number(values.timeout ?? 120) * 1000
  const server = await startNtpServer(port, (from) => process.stdout.write(`sntp-server: answered ${from} at ${new Date().toISOString()}\n`))
  process.stdout.write(`sntp-server: serving 127.0.0.1:${server.port} (udp)\n`)
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      if (until !== undefined && values['until-file'] !== undefined) {
        const text = await readFile(values['until-file'], 'utf8').catch(() => '')
        const m = until.exec(text)
        if (m) {
          process.stdout.write(`sntp-server: seen "${m[0]}" after ${server.served} answer(s); stopping\n`)
          return 0
        }
      }
      if (Date.now() > deadline) {
        process.stderr.write(`sntp-server: ${until === undefined ? 'time is up' : `no line matching /${until.source}/ in ${values['until-file']}`} after ${timeoutMs / 1000} s (${server.served} answer(s))\n`)
        return until === undefined ? 0 : 1
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  } finally {
    await server.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`sntp-server: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
