// keel cache ls|pull|push|rm|clean|verify|export|import
import { resolve } from 'node:path'
import {
  cleanStore, exportArchive, importArchive, listImages, pullImage, pushImage, removeImages, verifyStore,
} from '../../pkg/store/index.js'
import { parseCommandArgs } from './args.js'
import { createRegistryClient, openStore, platformOf, registryOptions, registryUsage } from './context.js'
import { UsageError, type CliIO } from './io.js'
import { createProgress, formatBytes } from './progress.js'

export const cacheUsage = `usage: keel cache COMMAND [options] [ARGS]

keel's image store (an OCI image layout under $KEEL_CACHE, else ~/.cache/keel).

commands:
  ls                       list stored images: reference, digest, size
  pull REF...              pull images from their registries into the store
  push LOCAL [REMOTE]      push a stored image to a registry (REMOTE defaults to LOCAL)
  rm REF...                forget images (their blobs go at the next clean)
  clean                    delete blobs no stored image uses
  verify [--repair]        re-hash every blob and check every image is whole;
                           --repair deletes bad blobs so the next pull fetches them again
  export -o FILE [-f FORMAT] REF...
                           write images to an archive: docker-archive (what docker load
                           reads; the default) or oci-archive
  import [-f FORMAT] FILE...
                           read archives: docker-archive, oci-archive or auto (default)

options (pull, push):
${registryUsage}`

export async function cacheCommand(io: CliIO, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.stdout.write(cacheUsage)
    return sub === undefined ? 2 : 0
  }
  const { values, positionals } = parseCommandArgs(rest, {
    ...registryOptions,
    output: { type: 'string', short: 'o' },
    format: { type: 'string', short: 'f' },
    repair: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, cacheUsage)
  if (values.help) {
    io.stdout.write(cacheUsage)
    return 0
  }
  const { store } = await openStore(io)
  const need = (what: string): void => {
    if (positionals.length === 0) throw new UsageError(`keel cache ${sub}: ${what}`, cacheUsage)
  }
  switch (sub) {
    case 'ls': {
      for (const img of await listImages(store)) {
        io.stdout.write(`${img.ref}\t${img.digest}\t${formatBytes(img.size)}${img.platforms ? `\t${img.platforms.join(',')}` : ''}\n`)
      }
      return 0
    }
    case 'pull': {
      need('name the images to pull')
      const client = createRegistryClient(io, values['insecure-registry'])
      const progress = createProgress(io)
      for (const ref of positionals) {
        const r = await pullImage(store, ref, {
          client, log: io.log, platform: platformOf(values.platform), ...(progress ? { onProgress: progress } : {}),
        })
        io.stdout.write(`${r.ref}\t${r.descriptor.digest}\n`)
      }
      return 0
    }
    case 'push': {
      need('name the stored image to push')
      if (positionals.length > 2) throw new UsageError('keel cache push takes a local name and, optionally, a remote name', cacheUsage)
      const client = createRegistryClient(io, values['insecure-registry'])
      const r = await pushImage(store, positionals[0]!, positionals[1], { client, log: io.log })
      io.stdout.write(`${r.ref}\t${r.digest}\n`)
      return 0
    }
    case 'rm':
      need('name the images to remove')
      for (const ref of await removeImages(store, positionals)) io.stdout.write(`${ref}\n`)
      return 0
    case 'clean': {
      const r = await cleanStore(store)
      io.log.info(`removed ${r.removedBlobs} blob${r.removedBlobs === 1 ? '' : 's'}, ${formatBytes(r.freedBytes)}`)
      return 0
    }
    case 'verify': {
      const r = await verifyStore(store, { repair: values.repair === true })
      for (const p of r.problems) io.stdout.write(`${p.ref ?? p.digest ?? p.path ?? ''}: ${p.problem}\n`)
      io.log.info(`checked ${r.checked} blob${r.checked === 1 ? '' : 's'}: ${r.problems.length === 0 ? 'all good' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`}`)
      return r.problems.length === 0 ? 0 : 1
    }
    case 'export': {
      need('name the images to export')
      if (!values.output) throw new UsageError('keel cache export needs -o FILE', cacheUsage)
      const format = values.format ?? 'docker-archive'
      if (format !== 'docker-archive' && format !== 'oci-archive') throw new UsageError(`-f must be docker-archive or oci-archive`, cacheUsage)
      await exportArchive(store, positionals, resolve(io.cwd, values.output), format)
      io.stdout.write(`${resolve(io.cwd, values.output)}\n`)
      return 0
    }
    case 'import': {
      need('name the archives to import')
      const format = values.format ?? 'auto'
      if (format !== 'auto' && format !== 'docker-archive' && format !== 'oci-archive') throw new UsageError(`-f must be auto, docker-archive or oci-archive`, cacheUsage)
      for (const file of positionals) {
        for (const img of await importArchive(store, resolve(io.cwd, file), { format, log: io.log })) {
          io.stdout.write(`${img.ref ?? '(untagged)'}\t${img.descriptor.digest}\n`)
        }
      }
      return 0
    }
    default:
      throw new UsageError(`unknown cache command ${JSON.stringify(sub)}`, cacheUsage)
  }
}

