// docker: the whole root file system as a one-layer image, in the archive
// format `docker load`, `skopeo copy docker-archive:` and `keel cache import`
// read (NAME-docker.tar, tagged NAME:latest). Deterministic like every output.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { OutputSet } from './files.js'
import type { OutputContext, OutputWriter } from './types.js'

export const writeDocker: OutputWriter = async (ctx: OutputContext): Promise<string[]> => {
  const tarStream = ctx.tar()
  const out = new OutputSet()
  const scratch = await mkdtemp(join(ctx.dir, '.keel-docker-'))
  try {
    // The layer goes to a scratch file first: its digest and size come before it in the archive.
    const layerSet = new OutputSet()
    const layerFile = await layerSet.create(join(scratch, 'layer.tar'))
    const hash = createHash('sha256')
    await pipeline(tarStream, new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); cb(null, c) } }), layerFile.stream)
    await layerFile.close()
    const [layerPath] = await layerSet.commit()
    const diffId = hash.digest('hex')
    const created = new Date(ctx.mtime * 1000).toISOString().replace(/\.000Z$/, 'Z')
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
      history: [{ created, created_by: `keel build -f docker (${ctx.name})` }],
    }))
    const configHex = createHash('sha256').update(config).digest('hex')
    const tag = `${ctx.name.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:latest`
    const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: [`${diffId}.tar`] }]))
    const repositories = Buffer.from(JSON.stringify({ [tag.split(':')[0]!]: { latest: diffId } }))

    const file = await out.create(join(ctx.dir, `${ctx.name}-docker.tar`))
    const pack = tar.pack()
    const writing = pipeline(pack as unknown as Readable, file.stream)
    const mtime = new Date(ctx.mtime * 1000)
    const base = { mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }
    const add = (name: string, data: Buffer): Promise<void> => new Promise((resolve, reject) => {
      pack.entry({ ...base, name, size: data.length }, data, (err) => (err ? reject(err) : resolve()))
    })
    await add(`${configHex}.json`, config)
    const size = (await stat(layerPath!)).size
    const sink = pack.entry({ ...base, name: `${diffId}.tar`, size })
    await pipeline(createReadStream(layerPath!), sink as unknown as NodeJS.WritableStream)
    await add('manifest.json', manifest)
    await add('repositories', repositories)
    pack.finalize()
    await writing
    await file.close()
    return await out.commit()
  } catch (err) {
    tarStream.destroy()
    await out.abort()
    throw err
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
