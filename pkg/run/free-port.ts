// A free port for a published guest port (keel test picks one for each
// `--publish GUEST`), or for a test's own server: the kernel's choice for
// port 0, free when asked (another process could take it before it is used).
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'

export async function freePort(address = '127.0.0.1', protocol: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (protocol === 'udp') {
    const sock = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(0, address, () => resolve()) })
    const { port } = sock.address()
    await new Promise<void>((resolve) => sock.close(() => resolve()))
    return port
  }
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, address, () => resolve()) })
  const bound = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (bound === null || typeof bound === 'string') throw new Error('the kernel gave no port')
  return bound.port
}
