// keel serve [options] PREFIX...
import { checkServedImages, parseListen, resolveServedImage, startServer } from '../../pkg/serve/index.js'
import { parseCommandArgs } from './args.js'
import { UsageError, type CliIO } from './io.js'

export const serveUsage = `usage: keel serve [options] [NAME=]PREFIX...

Serves kernel+initrd images (PREFIX-kernel, PREFIX-initrd.img and, when
present, PREFIX-cmdline, as keel build writes them) over HTTP with an iPXE
script for each, so machines boot them from the network. Point iPXE at
  http://HOST:PORT/ipxe             the first image's script
  http://HOST:PORT/NAME/ipxe        an image's script (NAME: PREFIX's file name,
                                    or as given by NAME=PREFIX)
  http://HOST:PORT/NAME/kernel      the files the script loads
  http://HOST:PORT/NAME/initrd.img
Nothing else is served. Prints the script URLs on stdout, logs each request on
stderr, and runs until Ctrl-C. Plain HTTP: use it on a network you trust
(docs/serve.md).

options:
      --listen ADDR:PORT     where to listen (default 127.0.0.1:8080; other
                             machines need an address of this one, or
                             0.0.0.0:8080 for every interface; port 0 picks a free one)
      --cmdline-append TEXT  add TEXT to every image's kernel command line
`

export async function serveCommand(io: CliIO, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    listen: { type: 'string' },
    'cmdline-append': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, serveUsage)
  if (values.help) {
    io.stdout.write(serveUsage)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('give at least one image PREFIX to serve', serveUsage)
  const listen = parseListen(values.listen ?? '127.0.0.1:8080')
  const images = []
  for (const spec of positionals) images.push(await resolveServedImage(spec, io.cwd))
  checkServedImages(images)

  const server = await startServer({ images, listen, cmdlineAppend: values['cmdline-append'] ?? '', log: io.log })
  for (const base of server.baseUrls) {
    io.stdout.write(`${base}/ipxe\n`)
    for (const image of images.slice(1)) io.stdout.write(`${base}/${image.name}/ipxe\n`)
  }
  io.log.info(`serving ${images.map((i) => i.name).join(', ')} on ${server.baseUrls[0]}/ (Ctrl-C stops)`)
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      process.off('SIGHUP', stop)
      io.log.info(`stopping on ${signal}`)
      done()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    process.on('SIGHUP', stop)
  })
  await server.close()
  return 0
}
