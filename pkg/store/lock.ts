// A lock file shared by keel processes using one store. Created with O_EXCL;
// holds the owner's pid so a lock left by a dead process can be broken.
import { open, readFile, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now()
  let delay = 5
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (await isStale(lockPath)) {
        await rm(lockPath, { force: true })
        continue
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for lock ${lockPath}`, { cause: err })
      }
      await sleep(delay)
      delay = Math.min(delay * 2, 200)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lockPath, { force: true })
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  let pid: number
  try {
    pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10)
  } catch {
    return false // gone already, or being written: retry
  }
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
