// tar-kernel-initrd: NAME-initrd.tar holding kernel, initrd.img, cmdline (and
// ucode.cpio), as LinuxKit writes it.
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { OutputSet } from './files.js'
import { writeInitrd } from './kernel-initrd.js'
import type { OutputContext, OutputWriter } from './types.js'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'

export const writeTarKernelInitrd: OutputWriter = async (tarStream: Readable, ctx: OutputContext): Promise<string[]> => {
  const out = new OutputSet()
  const scratch = await mkdtemp(join(ctx.dir, '.keel-initrd-'))
  try {
    // The initrd goes to a scratch file first: the tar header needs its size.
    const initrdSet = new OutputSet()
    const initrdFile = await initrdSet.create(join(scratch, 'initrd.img'))
    const parts = await writeInitrd(tarStream, initrdFile, ctx.mtime)
    const [initrdPath] = await initrdSet.commit()
    const file = await out.create(join(ctx.dir, `${ctx.name}-initrd.tar`))
    const pack = tar.pack()
    const writing = pipeline(pack as unknown as Readable, file.stream)
    const mtime = new Date(ctx.mtime * 1000)
    const add = (name: string, data: Buffer): Promise<void> => new Promise((resolve, reject) => {
      pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '', size: data.length }, data, (err) => (err ? reject(err) : resolve()))
    })
    await add('kernel', parts.kernel)
    const size = (await stat(initrdPath!)).size
    const sink = pack.entry({ name: 'initrd.img', mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '', size })
    await pipeline(createReadStream(initrdPath!), sink as unknown as NodeJS.WritableStream)
    if (parts.cmdline.length > 0) await add('cmdline', parts.cmdline)
    if (parts.ucode) await add('ucode.cpio', parts.ucode)
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
