// Fetching .deb files into the content-addressed cache.
import { join } from 'node:path'
import { IntegrityError, NetworkError, UserError, withAction } from '../errors/index.js'
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

/** A .deb named by its archive path and pinned by hash (from an index or a lock file). */
export interface DebPin {
  name: string
  version: string
  /** Path of the .deb relative to the archive root (the index's Filename). */
  filename: string
  sha256: string
  size: number
}

/**
 * Returns the path of `pkg`'s .deb in the cache, downloading it from
 * `{baseUri}/{filename}` when it is missing or does not match its SHA256.
 */
export async function fetchDeb(pkg: DebPackage, opts: FetchDebOptions): Promise<string> {
  return fetchPinnedDeb(pkg, [pkg.baseUri], opts)
}

/**
 * Like fetchDeb for a pinned .deb that may be found under several archive
 * roots (tried in order when one does not have it or cannot be reached). The
 * first file served must match the pin: a mismatch is an IntegrityError, not
 * a reason to try the next root. `baseUris` may be a function, called only
 * when the file is not cached. `pinnedBy` names where the pin came from.
 */
export async function fetchPinnedDeb(pin: DebPin, baseUris: readonly string[] | (() => readonly string[]), opts: FetchDebOptions & { pinnedBy?: string }): Promise<string> {
  const what = `package ${pin.name} ${pin.version}${opts.pinnedBy === undefined ? '' : ` (pinned in ${opts.pinnedBy})`}`
  if (!isSha256(pin.sha256)) throw new IntegrityError(`${what}: bad SHA256 "${pin.sha256}"`)
  if (pin.filename.startsWith('/') || pin.filename.split('/').includes('..')) {
    throw new IntegrityError(`${what}: Filename "${pin.filename}" leaves the archive`)
  }
  return withAction(`fetching ${pin.name} ${pin.version}`, async () => {
    const final = debCachePath(opts.cacheDir, pin.sha256)
    const expected = { sha256: pin.sha256, size: pin.size, what }
    if (await cachedFileOk(final, expected, opts.log)) {
      opts.log.debug(`apt: ${pin.name} ${pin.version}: cached ${final}`)
      return final
    }
    const urls = [...new Set(typeof baseUris === 'function' ? baseUris() : baseUris)].map((b) => `${b.replace(/\/+$/, '')}/${pin.filename}`)
    if (urls.length === 0) throw new UserError(`${what}: not in the cache, and no archive to fetch it from`)
    opts.log.info(`downloading ${pin.name} ${pin.version} (${formatSize(pin.size)})`)
    const tmp = tempBeside(final)
    for (const [i, url] of urls.entries()) {
      const last = i === urls.length - 1
      try {
        await downloadVerified(url, tmp, expected, {
          log: opts.log,
          ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
          ...(opts.retryDelayMs === undefined ? {} : { retryDelayMs: opts.retryDelayMs }),
        })
        break
      } catch (err) {
        if (!last && (err instanceof NotFoundError || err instanceof NetworkError)) {
          opts.log.debug(`apt: ${url}: ${err.message}; trying ${urls[i + 1]}`)
          continue
        }
        if (err instanceof NotFoundError) {
          throw new UserError(`${url}: not found (404)`, {
            hint: opts.pinnedBy === undefined
              ? 'the package index may be out of date; the archive no longer has this version'
              : `the archive no longer has this version; refresh the pins with --update-lock, or use an archive that keeps old versions (snapshot.debian.org)`,
            cause: err,
          })
        }
        throw err
      }
    }
    await commit(tmp, final)
    return final
  })
}
