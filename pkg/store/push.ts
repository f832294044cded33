// Store → registry: blobs first (skipping what the registry has, mounting
// from the repository an image was pulled from when it is on the same
// registry), then the manifest under the remote tag or digest.
import { withAction, UserError } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import { formatReference, normalizeReference, parseReference, type Digest, type ImageManifest } from '../oci/index.js'
import { repoOf, type RegistryClient } from '../registry/index.js'
import { sourceAnnotation } from './pull.js'
import type { Store } from './store.js'

export interface PushOptions {
  client: RegistryClient
  log: Logger
  concurrency?: number
}

export interface PushResult {
  ref: string
  digest: Digest
  blobs: { exists: number; mounted: number; uploaded: number }
}

/** Pushes the store's `localRef` to the registry as `remoteRef` (default: the same name). */
export async function pushImage(store: Store, localRef: string, remoteRef: string | undefined, options: PushOptions): Promise<PushResult> {
  const local = normalizeReference(localRef)
  const remote = parseReference(remoteRef ?? localRef)
  const remoteName = formatReference(remote)
  return withAction(`pushing ${local} to ${remoteName}`, async () => {
    const descriptor = await store.resolve(local)
    if (!descriptor) throw new UserError(`${local} is not in the store`, { hint: 'keel cache ls lists what is' })
    const bytes = await store.readBlob(descriptor.digest)
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new UserError(`${local} is an image index; only single-platform images can be pushed`)
    const repo = repoOf(remote)
    const source = descriptor.annotations?.[sourceAnnotation]
    const mountFrom = source?.startsWith(`${repo.registry}/`) ? source.slice(repo.registry.length + 1) : undefined
    const counts = { exists: 0, mounted: 0, uploaded: 0 }
    const queue = [manifest.config, ...manifest.layers]
    const worker = async (): Promise<void> => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
        const blob = d
        const how = await options.client.pushBlob(repo, blob, () => store.openBlob(blob.digest), mountFrom === undefined || mountFrom === repo.repository ? {} : { mountFrom })
        counts[how]++
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, worker))
    const digest = await options.client.putManifest(repo, remote.digest ?? remote.tag ?? 'latest', bytes, descriptor.mediaType)
    options.log.info(`pushed ${remoteName} (${digest}): ${counts.uploaded} uploaded, ${counts.mounted} mounted, ${counts.exists} already there`)
    return { ref: remoteName, digest, blobs: counts }
  })
}
