// HTTP downloads with retries, streamed to a file while hashing, and the
// content-addressed cache helpers shared by the index loader and fetchDeb.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { IntegrityError, NetworkError, UserError } from '../errors/index.js'
import type { Logger } from '../log/index.js'

export interface HttpOptions {
  fetchImpl?: typeof fetch
  log: Logger
  /** Attempts in all, including the first (default 3). */
  attempts?: number
  /** Base delay between attempts in ms, doubled each time (default 1000). */
  retryDelayMs?: number
  /** Abort when no data arrives for this long (default 60 s). */
  idleTimeoutMs?: number
}

export interface Expected {
  sha256: string
  size: number
  /** Names the thing in integrity errors, e.g. "package busybox 1:1.35.0-4". */
  what?: string
}

/** The server answered 404 or 410. */
export class NotFoundError extends UserError {
  readonly url: string
  constructor(url: string, status: number) {
    super(`${url}: not found (HTTP ${status})`)
    this.name = 'NotFoundError'
    this.url = url
  }
}

/** A failure worth retrying: a network error, a 5xx answer, a stalled or cut transfer. */
class TransientError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function withRetries<T>(url: string, opts: HttpOptions, attempt: (signal: AbortSignal, resetIdle: () => void) => Promise<T>): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 3)
  const base = opts.retryDelayMs ?? 1000
  const idleMs = opts.idleTimeoutMs ?? 60_000
  let last: unknown
  for (let n = 1; n <= attempts; n++) {
    const ac = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const resetIdle = (): void => {
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(() => ac.abort(new TransientError(`no data for ${idleMs} ms`)), idleMs)
    }
    resetIdle()
    try {
      return await attempt(ac.signal, resetIdle)
    } catch (err) {
      const transient = err instanceof TransientError || (ac.signal.aborted && !(err instanceof IntegrityError))
      if (!transient) throw err
      last = ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : err
      if (n < attempts) {
        opts.log.debug(`${url}: attempt ${n} failed (${describe(last)}); retrying`)
        await sleep(base * 2 ** (n - 1))
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }
  throw new NetworkError(`${url}: failed after ${attempts} attempts: ${describe(last)}`, { cause: last })
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    return `${err.message}${cause}`
  }
  return String(err)
}

/** A non-retryable HTTP status other than 404/410. */
class HttpStatusError extends Error {}

async function get(url: string, opts: HttpOptions, signal: AbortSignal): Promise<Response> {
  const f = opts.fetchImpl ?? fetch
  let res: Response
  try {
    res = await f(url, { signal, redirect: 'follow' })
  } catch (err) {
    throw new TransientError(`${describe(err)}`, { cause: err })
  }
  if (res.ok) return res
  await res.body?.cancel().catch(() => undefined)
  if (res.status === 404 || res.status === 410) throw new NotFoundError(url, res.status)
  if (res.status >= 500 || res.status === 429 || res.status === 408) throw new TransientError(`HTTP ${res.status}`)
  throw new HttpStatusError(`${url}: HTTP ${res.status} ${res.statusText}`)
}

/** Fetches a small document into memory (at most `maxBytes`). */
export async function fetchBuffer(url: string, opts: HttpOptions & { maxBytes?: number }): Promise<Buffer> {
  const max = opts.maxBytes ?? 64 * 1024 * 1024
  return withRetries(url, opts, async (signal, resetIdle) => {
    const res = await get(url, opts, signal)
    const chunks: Buffer[] = []
    let total = 0
    if (res.body) {
      try {
        for await (const chunk of res.body) {
          resetIdle()
          total += chunk.byteLength
          if (total > max) throw new IntegrityError(`${url}: larger than ${max} bytes`)
          chunks.push(Buffer.from(chunk))
        }
      } catch (err) {
        if (err instanceof IntegrityError) throw err
        throw new TransientError(describe(err), { cause: err })
      }
    }
    return Buffer.concat(chunks)
  })
}

/**
 * Downloads `url` into `dest` (created or truncated), hashing as it goes, and
 * checks size and SHA256 against `expected`. On a mismatch `dest` is removed
 * and an IntegrityError names the URL and both hashes.
 */
export async function downloadVerified(url: string, dest: string, expected: Expected, opts: HttpOptions): Promise<void> {
  await mkdir(dirname(dest), { recursive: true })
  const label = expected.what === undefined ? url : `${expected.what}: ${url}`
  try {
    await withRetries(url, opts, async (signal, resetIdle) => {
      const res = await get(url, opts, signal)
      const hash = createHash('sha256')
      let size = 0
      const fh = await open(dest, 'w', 0o644)
      try {
        if (res.body) {
          try {
            for await (const chunk of res.body) {
              resetIdle()
              size += chunk.byteLength
              if (size > expected.size) {
                await res.body.cancel().catch(() => undefined)
                throw new IntegrityError(
                  `${label}: size mismatch: expected ${expected.size} bytes, got more; ` +
                  `SHA256 expected ${expected.sha256}`)
              }
              hash.update(chunk)
              await fh.write(chunk)
            }
          } catch (err) {
            if (err instanceof IntegrityError) throw err
            throw new TransientError(describe(err), { cause: err })
          }
        }
      } finally {
        await fh.close()
      }
      const actual = hash.digest('hex')
      if (size !== expected.size || actual !== expected.sha256) {
        throw new IntegrityError(
          `${label}: SHA256 mismatch: expected ${expected.sha256} (${expected.size} bytes), ` +
          `got ${actual} (${size} bytes)`)
      }
    })
  } catch (err) {
    await unlink(dest).catch(() => undefined)
    throw err
  }
}

/** SHA256 and size of a file. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer
    size += b.length
    hash.update(b)
  }
  return { sha256: hash.digest('hex'), size }
}

/**
 * Whether the cache file `path` exists and has the expected hash and size.
 * A file that does not match is deleted (and logged), so the caller re-fetches.
 */
export async function cachedFileOk(path: string, expected: Expected, log: Logger): Promise<boolean> {
  let size: number
  try {
    const st = await stat(path)
    if (!st.isFile()) return false
    size = st.size
  } catch {
    return false
  }
  const got = size === expected.size ? await hashFile(path) : { sha256: `(size ${size})`, size }
  if (got.sha256 === expected.sha256 && got.size === expected.size) return true
  log.warn(`cache file ${path} is corrupt (SHA256 ${got.sha256}, expected ${expected.sha256}); fetching again`)
  await unlink(path).catch(() => undefined)
  return false
}

/** A fresh temporary path beside `finalPath` (same file system, so rename is atomic). */
export function tempBeside(finalPath: string): string {
  return join(dirname(finalPath), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
}

/** Moves a verified temp file into place. */
export async function commit(tempPath: string, finalPath: string): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true })
  await rename(tempPath, finalPath)
}

export function isSha256(hex: string): boolean {
  return /^[0-9a-f]{64}$/.test(hex)
}
