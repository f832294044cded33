// The back ends of `keel cache ls|verify|rm|clean`: listing stored images,
// re-hashing every blob, forgetting names and deleting blobs no name reaches.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { IntegrityError, UserError } from '../errors/index.js'
import {
  digestAlgorithm, normalizeReference, refNameAnnotation, type Descriptor, type Digest, type Platform,
} from '../oci/index.js'
import {
  bareDescriptor, checkDescriptor, formatPlatform, isIndexMediaType, isManifestMediaType, walkImage,
} from './oci-layout.js'
import type { Store } from './store.js'

export interface ImageListing {
  ref: string
  /** Digest of what the name points at: a manifest or an index. */
  digest: Digest
  mediaType: string
  /**
   * Bytes of config + layers (as stored, i.e. compressed) of one image: the
   * manifest itself, or for an index the variant listed — the requested
   * platform (default linux/amd64) when the store holds its manifest, else
   * the first variant it holds. 0 when nothing could be read (see `problem`).
   */
  size: number
  /** For an index: its variants as os/arch[/variant] (attestation entries left out). */
  platforms?: string[]
  /** Why the size could not be worked out (a missing or bad blob): run `keel cache verify`. */
  problem?: string
}

/** The stored images, by name. */
export async function listImages(store: Store, options: { platform?: Platform } = {}): Promise<ImageListing[]> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' }
  const index = await store.readIndex()
  const out: ImageListing[] = []
  for (const entry of index.manifests) {
    const ref = entry.annotations?.[refNameAnnotation]
    if (ref === undefined) continue
    const item: ImageListing = { ref, digest: entry.digest, mediaType: entry.mediaType, size: 0 }
    try {
      if (isIndexMediaType(entry.mediaType)) {
        const children = await indexChildren(store, entry.digest, ref)
        item.platforms = children.flatMap((c) => (c.platform && c.platform.os !== 'unknown' ? [formatPlatform(c.platform)] : []))
        const held: Descriptor[] = []
        for (const c of children) if (isManifestMediaType(c.mediaType) && (await store.hasBlob(c.digest))) held.push(c)
        const chosen = held.find((c) => c.platform?.os === platform.os && c.platform.architecture === platform.architecture &&
          (platform.variant === undefined || c.platform.variant === platform.variant)) ?? held[0]
        if (chosen) item.size = await manifestSize(store, chosen.digest, ref)
        else item.problem = 'the store holds none of its variants'
      } else if (isManifestMediaType(entry.mediaType)) {
        item.size = await manifestSize(store, entry.digest, ref)
      } else {
        item.problem = `${entry.mediaType} is not an image`
      }
    } catch (err) {
      item.problem = (err as Error).message
    }
    out.push(item)
  }
  return out
}

async function indexChildren(store: Store, digest: Digest, ref: string): Promise<Descriptor[]> {
  const index = await store.readJson<{ manifests?: unknown } | null>(digest)
  if (!index || !Array.isArray(index.manifests)) throw new IntegrityError(`image ${ref}: index ${digest} has no manifests list`)
  return index.manifests.map((m, i) => checkDescriptor(m, `image ${ref}: index ${digest} manifests[${i}]`))
}

async function manifestSize(store: Store, digest: Digest, ref: string): Promise<number> {
  const m = await store.readJson<{ config?: unknown; layers?: unknown } | null>(digest)
  if (!m || m.config === undefined || !Array.isArray(m.layers)) throw new IntegrityError(`image ${ref}: manifest ${digest} has no config or layers`)
  const config = checkDescriptor(m.config, `image ${ref}: manifest ${digest} config`)
  return m.layers.reduce<number>((sum, l, i) => sum + checkDescriptor(l, `image ${ref}: manifest ${digest} layers[${i}]`).size, config.size)
}

export interface StoreProblem {
  digest?: string
  path?: string
  ref?: string
  problem: string
  /** With `repair`: the bad file was deleted (a later pull fetches it again). */
  repaired?: boolean
}

/**
 * Re-hashes every blob (streaming) and checks that every named image has its
 * manifests, configs and layers. With `repair`, blobs whose content does not
 * match their name, and files in blobs/ that are not blobs, are deleted.
 * Temporary files of unfinished writes are left alone (`clean` removes stale ones).
 */
export async function verifyStore(store: Store, options: { repair?: boolean } = {}): Promise<{ checked: number; problems: StoreProblem[] }> {
  const problems: StoreProblem[] = []
  let checked = 0
  const remove = async (path: string, p: StoreProblem): Promise<void> => {
    if (!options.repair) return
    await rm(path, { force: true, recursive: true })
    p.repaired = true
  }
  for (const f of await store.listBlobFiles()) {
    if (f.temp) continue
    if (!f.regular) {
      const p: StoreProblem = { path: f.path, problem: 'not a regular file' }
      problems.push(p)
      await remove(f.path, p)
      continue
    }
    if (f.digest === undefined) {
      const p: StoreProblem = { path: f.path, problem: 'file name is not a valid digest' }
      problems.push(p)
      await remove(f.path, p)
      continue
    }
    let got: string
    try {
      got = await hashFile(f.path, digestAlgorithm(f.digest))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // deleted meanwhile
      problems.push({ digest: f.digest, path: f.path, problem: `cannot be read: ${(err as Error).message}` })
      continue
    }
    checked++
    if (got !== f.digest) {
      const p: StoreProblem = { digest: f.digest, path: f.path, problem: `content does not match its name (it hashes to ${got})` }
      problems.push(p)
      await remove(f.path, p)
    }
  }

  let manifests: Descriptor[]
  try {
    manifests = (await store.readIndex()).manifests
  } catch (err) {
    problems.push({ path: join(store.root, 'index.json'), problem: `cannot be read: ${(err as Error).message}` })
    return { checked, problems }
  }
  for (const entry of manifests) {
    const ref = entry.annotations?.[refNameAnnotation] ?? entry.digest
    try {
      await walkImage(bareDescriptor(entry), {
        visit: async ({ descriptor: d, role: r }) => {
          let size: number
          try {
            size = (await stat(store.blobPath(d.digest))).size
          } catch {
            if (d.urls && d.urls.length > 0) return // a foreign layer, never stored
            problems.push({ ref, digest: d.digest, problem: `${r} ${d.digest} is missing` })
            return
          }
          if (size !== d.size) problems.push({ ref, digest: d.digest, problem: `${r} ${d.digest} is ${size} bytes, its descriptor says ${d.size}` })
        },
        read: async ({ descriptor: d, role: r }) => {
          if (!(await store.hasBlob(d.digest))) return undefined
          try {
            return await store.readJson(d.digest)
          } catch (err) {
            problems.push({ ref, digest: d.digest, problem: `${r} cannot be read: ${(err as Error).message}` })
            return undefined
          }
        },
      }, `image ${ref}`)
    } catch (err) {
      problems.push({ ref, digest: entry.digest, problem: (err as Error).message })
    }
  }
  return { checked, problems }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = createHash(algorithm)
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk)
  return `${algorithm}:${hash.digest('hex')}`
}

/**
 * Forgets stored images by name (their blobs go at the next clean). Every
 * name must be stored: otherwise nothing is removed and a UserError names
 * the unknown ones. Returns the normalised names removed.
 */
export async function removeImages(store: Store, refs: string[]): Promise<string[]> {
  if (refs.length === 0) return []
  const normalised = refs.map((r) => normalizeReference(r))
  const unknown: string[] = []
  for (const [i, ref] of normalised.entries()) {
    if (!(await store.resolve(ref))) unknown.push(refs[i] === ref ? ref : `${refs[i]} (${ref})`)
  }
  if (unknown.length > 0) {
    throw new UserError(`no image ${unknown.join(', ')} in the store at ${store.root}`, { hint: 'see the stored images with: keel cache ls' })
  }
  return store.untag([...new Set(normalised)])
}

export interface CleanResult {
  removedBlobs: number
  /** Bytes of the blobs and stale temp files removed. */
  freedBytes: number
  removedTempFiles: number
}

/** Default for cleanStore's graceMs: one hour. */
export const defaultCleanGraceMs = 60 * 60 * 1000

/**
 * Deletes blobs no name in index.json reaches (indexes → manifests →
 * configs and layers), holding the index lock so no tag lands meanwhile.
 * Blobs modified less than `graceMs` ago are kept: a build that has written
 * blobs but not tagged its image yet is safe. Stale temp files (older than
 * the grace period) go too. Refuses, without deleting anything, when a
 * named image's manifest or index cannot be read (its blobs would look
 * unreferenced): run `keel cache verify --repair` or remove the image first.
 */
export async function cleanStore(store: Store, options: { graceMs?: number } = {}): Promise<CleanResult> {
  const graceMs = options.graceMs ?? defaultCleanGraceMs
  return store.withIndexLock(async () => {
    const now = Date.now()
    const keep = new Set<string>()
    for (const entry of (await store.readIndex()).manifests) {
      const ref = entry.annotations?.[refNameAnnotation] ?? entry.digest
      await walkImage(bareDescriptor(entry), {
        visit: ({ descriptor }) => {
          keep.add(descriptor.digest)
        },
        read: async ({ descriptor }) => {
          if (!(await store.hasBlob(descriptor.digest))) return undefined
          try {
            return await store.readJson(descriptor.digest)
          } catch (err) {
            throw new IntegrityError(`cannot clean the store: image ${ref}: ${(err as Error).message}`, { cause: err })
          }
        },
      }, `cannot clean the store: image ${ref}`)
    }
    const result: CleanResult = { removedBlobs: 0, freedBytes: 0, removedTempFiles: 0 }
    const old = (mtimeMs: number): boolean => now - mtimeMs >= graceMs
    for (const f of await store.listBlobFiles()) {
      if (!f.regular || !old(f.mtimeMs)) continue
      if (f.temp) {
        await rm(f.path, { force: true })
        result.removedTempFiles++
        result.freedBytes += f.size
      } else if (f.digest !== undefined && !keep.has(f.digest)) {
        result.freedBytes += await store.deleteBlob(f.digest)
        result.removedBlobs++
      }
    }
    // Temp files of index.json and oci-layout writes that never finished.
    for (const name of await readdir(store.root)) {
      if (!name.startsWith('.') || !name.endsWith('.tmp')) continue
      const path = join(store.root, name)
      try {
        const st = await stat(path)
        if (!st.isFile() || !old(st.mtimeMs)) continue
        await rm(path, { force: true })
        result.removedTempFiles++
        result.freedBytes += st.size
      } catch {
        // gone meanwhile
      }
    }
    return result
  })
}

