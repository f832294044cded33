// Output files appear whole or not at all: each is written to a temporary name
// in the output folder (created exclusively, so a planted symlink is never
// followed), synced, and renamed into place only when every file of the set
// is done. On failure the temporary files are removed.
import { randomBytes } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface OutputFile {
  stream: WriteStream
  /** Ends the stream (unless a pipe already did) and waits until the file is synced and closed. */
  close(): Promise<void>
}

export class OutputSet {
  private readonly pending: Array<{ tmp: string; final: string; stream: WriteStream }> = []
  private readonly reserved: Array<{ tmp: string; final: string }> = []

  /** Opens a temporary file that becomes `final` on commit. */
  async create(final: string, mode = 0o644): Promise<OutputFile> {
    const tmp = join(dirname(final), `.${basename(final)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    const stream = createWriteStream(tmp, { flags: 'wx', mode, flush: true })
    this.pending.push({ tmp, final, stream })
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => { stream.off('error', reject); resolve() })
      stream.once('error', reject)
    })
    return {
      stream,
      close: () => new Promise<void>((resolve, reject) => {
        if (stream.closed) { resolve(); return }
        stream.once('error', reject)
        stream.once('close', () => resolve())
        if (!stream.writableEnded) stream.end()
      }),
    }
  }

  /**
   * A temporary path that becomes `final` on commit, for a tool that writes
   * the file itself. The name is fresh; the tool must create it.
   */
  async reserve(final: string): Promise<string> {
    const tmp = join(dirname(final), `.${basename(final)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    this.reserved.push({ tmp, final })
    return tmp
  }

  /** Drops a reserved name that was not used after all. */
  async forget(tmp: string): Promise<void> {
    const i = this.reserved.findIndex((r) => r.tmp === tmp)
    if (i >= 0) this.reserved.splice(i, 1)
    await rm(tmp, { force: true })
  }

  /** Writes a whole small file. */
  async writeFile(final: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const f = await this.create(final, mode)
    f.stream.end(data)
    await f.close()
  }

  async commit(): Promise<string[]> {
    const all = [...this.pending, ...this.reserved]
    for (const p of all) {
      await rename(p.tmp, p.final)
      // rename() does nothing when both names are links to one file (two
      // formats linking the same boot file): the temporary name goes here.
      await rm(p.tmp, { force: true })
    }
    return all.map((p) => p.final)
  }

  async abort(): Promise<void> {
    await Promise.all(this.pending.map(async (p) => {
      p.stream.destroy()
      await rm(p.tmp, { force: true })
    }))
    await Promise.all(this.reserved.map((p) => rm(p.tmp, { force: true })))
  }
}
