// Registry → store. The manifest (for the wanted platform when the reference
// names an index), the config and every layer are streamed into the store,
// each checked against its digest and size, layers several at a time; the
// reference is tagged only when everything is in. What the store already
// has is not fetched again, so a pinned digest builds offline from the cache.
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { IntegrityError } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import {
  formatReference, parseReference, type Descriptor, type Digest, type ImageManifest, type Platform, type Reference,
} from '../oci/index.js'
import { formatPlatform, repoOf, selectPlatform, type RegistryClient, type Repo } from '../registry/index.js'
import type { Store } from './store.js'

/** Where an image in the store was pulled from, so a push can mount its blobs. */
export const sourceAnnotation = 'dev.keel.source.repository'

export interface ProgressEvent {
  ref: string
  digest: Digest
  /** Bytes received so far, and the blob's size. */
  done: number
  total: number
  state: 'start' | 'progress' | 'cached' | 'done'
}

export interface PullOptions {
  client: RegistryClient
  log: Logger
  platform: Platform
  /** Layers fetched at once (default 4). */
  concurrency?: number
  onProgress?: (ev: ProgressEvent) => void
}

export interface PullResult {
  ref: string
  descriptor: Descriptor
  /** False when the store had the image already. */
  pulled: boolean
}

/**
 * Makes sure the store has `raw` (a registry reference), pulling what is
 * missing; returns the normalised reference it is tagged under.
 */
export async function pullImage(store: Store, raw: string, options: PullOptions): Promise<PullResult> {
  const ref = parseReference(raw)
  const name = formatReference(ref)
  // The registry client names the image in its errors; only ours need the prefix.
  const fail = (msg: string): never => { throw new IntegrityError(`pulling ${name}: ${msg}`) }
  {
    const have = await store.resolve(name)
    if (have && (await hasImageBlobs(store, have))) return { ref: name, descriptor: have, pulled: false }
    const repo = repoOf(ref)
    const manifestDesc = await fetchManifestFor(store, repo, ref, options, fail)
    const manifest = await store.readJson<ImageManifest>(manifestDesc.digest)
    await fetchBlobs(store, repo, name, [manifest.config, ...manifest.layers], options)
    const descriptor: Descriptor = {
      ...manifestDesc,
      platform: manifestDesc.platform ?? options.platform,
      annotations: { ...manifestDesc.annotations, [sourceAnnotation]: `${repo.registry}/${repo.repository}` },
    }
    await store.tag(name, descriptor)
    options.log.info(`pulled ${name} (${descriptor.digest})`)
    return { ref: name, descriptor, pulled: true }
  }
}

/** Fetches the manifest (through an index if need be) into the store; returns its descriptor. */
async function fetchManifestFor(store: Store, repo: Repo, ref: Reference, options: PullOptions, fail: (msg: string) => never): Promise<Descriptor> {
  const wanted = ref.digest ?? ref.tag ?? 'latest'
  let fetched = await options.client.getManifest(repo, wanted)
  if (fetched.kind === 'index') {
    const index = fetched.index!
    const child = selectPlatform(index, options.platform)
    if (!child) {
      const offered = index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ')
      fail(`${fetched.descriptor.digest} has no ${formatPlatform(options.platform)} image (it has: ${offered || 'none'})`)
    }
    fetched = await options.client.getManifest(repo, child.digest)
    if (fetched.kind !== 'manifest') fail(`${child!.digest}: an index inside an index is not supported`)
    fetched.descriptor = { ...fetched.descriptor, platform: child.platform ?? options.platform }
  }
  const stored = await store.putBlob(fetched.bytes)
  if (stored.digest !== fetched.descriptor.digest) fail(`manifest ${fetched.descriptor.digest} changed while being stored`)
  return fetched.descriptor
}

async function fetchBlobs(store: Store, repo: Repo, name: string, blobs: Descriptor[], options: PullOptions): Promise<void> {
  const queue = [...blobs]
  // On the first failure no new blob is started, and every transfer under
  // way is let finish (or fail) before the error is thrown, so nothing keeps
  // writing into the store afterwards.
  let failure: { err: unknown } | undefined
  const fetchOne = async (blob: Descriptor): Promise<void> => {
    if (await store.hasBlob(blob.digest, blob.size)) {
      options.onProgress?.({ ref: name, digest: blob.digest, done: blob.size, total: blob.size, state: 'cached' })
      return
    }
    options.onProgress?.({ ref: name, digest: blob.digest, done: 0, total: blob.size, state: 'start' })
    // The store hashes the bytes as it writes them and refuses a mismatch, so
    // the client only checks the size: each byte is hashed once.
    const stream = await options.client.fetchBlob(repo, blob, { verifyDigest: false })
    let source: Readable = stream
    let piping: Promise<void> = Promise.resolve()
    if (options.onProgress) {
      let done = 0
      // Counting on the way through: a 'data' listener on the source would
      // start it flowing before the store is ready to take the bytes.
      const counted = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          done += chunk.length
          options.onProgress?.({ ref: name, digest: blob.digest, done, total: blob.size, state: 'progress' })
          cb(null, chunk)
        },
      })
      piping = pipeline(stream, counted)
      source = counted
    }
    try {
      await Promise.all([piping, store.putBlobStream(source, { digest: blob.digest, size: blob.size })])
    } catch (err) {
      if (err instanceof IntegrityError && !err.message.startsWith('pulling ')) throw new IntegrityError(`pulling ${name}: blob ${blob.digest}: ${err.message}`, { cause: err })
      throw err
    }
    options.onProgress?.({ ref: name, digest: blob.digest, done: blob.size, total: blob.size, state: 'done' })
  }
  const worker = async (): Promise<void> => {
    while (!failure) {
      const blob = queue.shift()
      if (blob === undefined) return
      try {
        await fetchOne(blob)
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  const n = Math.max(1, Math.min(options.concurrency ?? 4, queue.length))
  await Promise.all(Array.from({ length: n }, worker))
  if (failure) throw failure.err
}

/** Whether the store has the manifest, config and every layer of an image. */
export async function hasImageBlobs(store: Store, descriptor: Descriptor): Promise<boolean> {
  if (!(await store.hasBlob(descriptor.digest))) return false
  try {
    const m = await store.readJson<ImageManifest>(descriptor.digest)
    if (!m.config || !Array.isArray(m.layers)) return true // an index: checked when opened
    for (const d of [m.config, ...m.layers]) if (!(await store.hasBlob(d.digest, d.size))) return false
    return true
  } catch {
    return false
  }
}
