import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * keel's cache folder: $KEEL_CACHE, else $XDG_CACHE_HOME/keel, else ~/.cache/keel.
 * It holds the image store (an OCI image layout) and downloads.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['KEEL_CACHE']
  if (explicit) return resolve(explicit)
  const xdg = env['XDG_CACHE_HOME']
  if (xdg) return join(resolve(xdg), 'keel')
  return join(homedir(), '.cache', 'keel')
}

export function storeDir(cacheDir: string): string {
  return join(cacheDir, 'store')
}
