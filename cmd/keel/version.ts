import { readFileSync } from 'node:fs'

/** keel's version, from package.json (two folders up from the source, three from dist/). */
export function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'keel' && pkg.version) return pkg.version
    } catch {
      // not here; try the next
    }
  }
  return 'unknown'
}
