// Fetching .deb files into the content-addressed cache.
import { join } from 'node:path'
import { IntegrityError, UserError, withAction } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import { formatSize } from './archive.js'
import { cachedFileOk, commit, downloadVerified, isSha256, NotFoundError, tempBeside } from './download.js'
import type { DebPackage } from './packages.js'

export interface FetchDebOptions {
  cacheDir: string
  log: Logger
  fetchImpl?: typeof fetch
  /** Base delay between retries in ms (default 1000). */
  retryDelayMs?: number
}

/** Path of the cached .deb with this SHA256. */
export function debCachePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'apt', 'debs', 'sha256', `${sha256}.deb`)
}

/**
 * Returns the path of `pkg`'s .deb in the cache, downloading it from
 * `{baseUri}/{filename}` when it is missing or does not match its SHA256.
 */
export async function fetchDeb(pkg: DebPackage, opts: FetchDebOptions): Promise<string> {
  const what = `package ${pkg.name} ${pkg.version}`
  if (!isSha256(pkg.sha256)) throw new IntegrityError(`${what}: bad SHA256 "${pkg.sha256}" in the index`)
  const url = `${pkg.baseUri}/${pkg.filename}`
  return withAction(`fetching ${pkg.name} ${pkg.version}`, async () => {
    const final = debCachePath(opts.cacheDir, pkg.sha256)
    const expected = { sha256: pkg.sha256, size: pkg.size, what }
    if (await cachedFileOk(final, expected, opts.log)) {
      opts.log.debug(`apt: ${pkg.name} ${pkg.version}: cached ${final}`)
      return final
    }
    opts.log.info(`downloading ${pkg.name} ${pkg.version} (${formatSize(pkg.size)})`)
    const tmp = tempBeside(final)
    try {
      await downloadVerified(url, tmp, expected, {
        log: opts.log,
        ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
        ...(opts.retryDelayMs === undefined ? {} : { retryDelayMs: opts.retryDelayMs }),
      })
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new UserError(`${url}: not found (404)`, {
          hint: 'the package index may be out of date; the archive no longer has this version',
          cause: err,
        })
      }
      throw err
    }
    await commit(tmp, final)
    return final
  })
}
