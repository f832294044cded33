import t from 'tap'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { freePort } from './free-port.js'

t.test('a free TCP and UDP port on 127.0.0.1 can be bound', async (t) => {
  const tcp = await freePort()
  t.ok(tcp > 0 && tcp < 65536)
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(tcp, '127.0.0.1', () => resolve()) })
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const udp = await freePort('127.0.0.1', 'udp')
  const sock = createSocket('udp4')
  await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(udp, '127.0.0.1', () => resolve()) })
  await new Promise<void>((resolve) => sock.close(() => resolve()))
})

t.test('an address this host does not have is an error', async (t) => {
  await t.rejects(freePort('192.0.2.1'), /EADDRNOTAVAIL/)
})
