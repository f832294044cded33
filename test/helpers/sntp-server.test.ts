// The boot tests' NTP server: its replies to a client, over real UDP.
import t from 'tap'
import { createSocket } from 'node:dgram'
import { ntpReply, readNtpTime, startNtpServer, writeNtpTime } from './sntp-server.js'

/** A client request (SNTP version 4, mode 3) with `transmit` as its transmit timestamp. */
function request(transmit: number, version = 4, mode = 3): Buffer {
  const b = Buffer.alloc(48)
  b[0] = (version << 3) | mode
  b[2] = 6
  writeNtpTime(b, 40, transmit)
  return b
}

t.test('timestamps: Unix milliseconds to NTP and back', async (t) => {
  const b = Buffer.alloc(8)
  writeNtpTime(b, 0, 1795515291250)
  t.equal(b.readUInt32BE(0), 1795515291 + 2208988800)
  t.equal(b.readUInt32BE(4), 2 ** 30)
  t.equal(readNtpTime(b, 0), 1795515291250)
})

t.test('a reply: server mode, the client version and poll, stratum 1, its transmit time as origin', async (t) => {
  const req = request(978307200000)
  const reply = ntpReply(req, 1795515291000, () => 1795515291500)!
  t.equal(reply.length, 48)
  t.equal(reply[0]! >> 6, 0, 'no leap warning (3 would be "not synchronised")')
  t.equal((reply[0]! >> 3) & 7, 4)
  t.equal(reply[0]! & 7, 4, 'mode 4: server')
  t.equal(reply[1], 1)
  t.equal(reply[2], 6)
  t.equal(reply.toString('ascii', 12, 16), 'LOCL')
  t.same(reply.subarray(24, 32), req.subarray(40, 48), 'origin is what the client sent')
  t.equal(readNtpTime(reply, 32), 1795515291000)
  t.equal(readNtpTime(reply, 40), 1795515291500)
  t.not(reply.readUInt32BE(16), 0, 'a reference time (chrony refuses zero)')
  const v3 = ntpReply(request(0, 3), 0)!
  t.equal((v3[0]! >> 3) & 7, 3, 'a version 3 client gets version 3')
})

t.test('not a client request: no reply', async (t) => {
  t.equal(ntpReply(Buffer.alloc(47), 0), undefined, 'too short')
  t.equal(ntpReply(request(0, 4, 4), 0), undefined, 'a server reply')
  t.equal(ntpReply(request(0, 0), 0), undefined, 'version 0')
})

t.test('over UDP: a request gets the host clock back', async (t) => {
  const server = await startNtpServer()
  t.teardown(() => server.close())
  const client = createSocket('udp4')
  t.teardown(() => client.close())
  const sent = Date.now()
  const reply = await new Promise<Buffer>((resolve) => {
    client.once('message', resolve)
    client.send(request(sent), server.port, '127.0.0.1')
  })
  t.ok(Math.abs(readNtpTime(reply, 40) - Date.now()) < 5000, 'the transmit time is now')
  t.equal(server.served, 1)
})
