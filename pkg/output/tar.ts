// tar: the assembled tar stream itself, as NAME.tar.
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { OutputSet } from './files.js'
import type { OutputContext, OutputWriter } from './types.js'

export const writeTar: OutputWriter = async (ctx: OutputContext): Promise<string[]> => {
  const tarStream = ctx.tar()
  const out = new OutputSet()
  try {
    const file = await out.create(join(ctx.dir, `${ctx.name}.tar`))
    await pipeline(tarStream, file.stream)
    await file.close()
    return await out.commit()
  } catch (err) {
    tarStream.destroy()
    await out.abort()
    throw err
  }
}
