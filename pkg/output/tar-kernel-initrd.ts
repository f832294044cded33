// tar-kernel-initrd: NAME-initrd.tar holding kernel, initrd.img and
// cmdline, as LinuxKit writes it.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { OutputSet } from './files.js'
import type { OutputContext, OutputWriter } from './types.js'

export const writeTarKernelInitrd: OutputWriter = async (ctx: OutputContext): Promise<string[]> => {
  const boot = await ctx.bootFiles()
  const out = new OutputSet()
  try {
    const file = await out.create(join(ctx.dir, `${ctx.name}-initrd.tar`))
    const pack = tar.pack()
    const writing = pipeline(pack as unknown as Readable, file.stream)
    const mtime = new Date(ctx.mtime * 1000)
    const base = { mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }
    const addFile = async (name: string, path: string): Promise<void> => {
      const sink = pack.entry({ ...base, name, size: (await stat(path)).size })
      await pipeline(createReadStream(path), sink as unknown as NodeJS.WritableStream)
    }
    await addFile('kernel', boot.kernel)
    await addFile('initrd.img', boot.initrd)
    if (boot.cmdline.length > 0) {
      const data = Buffer.from(boot.cmdline)
      await new Promise<void>((resolve, reject) => pack.entry({ ...base, name: 'cmdline', size: data.length }, data, (err) => (err ? reject(err) : resolve())))
    }
    pack.finalize()
    await writing
    await file.close()
    return await out.commit()
  } catch (err) {
    await out.abort()
    throw err
  }
}
