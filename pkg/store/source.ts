// Opening an image in the store for assembly, from a descriptor: an index is
// resolved to the wanted platform's manifest.
import { IntegrityError, UserError } from '../errors/index.js'
import {
  mediaTypes, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type ImageSource, type Platform,
} from '../oci/index.js'
import type { Store } from './store.js'

export async function imageSourceOf(store: Store, ref: string, top: Descriptor, platform: Platform = { os: 'linux', architecture: 'amd64' }): Promise<ImageSource> {
  const descriptor = await selectManifest(store, top, platform, ref, 0)
  const manifestBytes = await store.readBlob(descriptor.digest)
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new IntegrityError(`image ${ref} (${descriptor.digest}): manifest has no config or layers`)
  }
  const configBytes = await store.readBlob(manifest.config.digest)
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  for (const l of manifest.layers) {
    if (!(await store.hasBlob(l.digest))) throw new IntegrityError(`image ${ref} (${descriptor.digest}): layer ${l.digest} is missing from the store; pull it again`)
  }
  return {
    ref,
    digest: descriptor.digest,
    config,
    layers: manifest.layers.map((l) => ({ descriptor: l, open: () => store.openBlob(l.digest) })),
    manifestBytes,
    configBytes,
  }
}

async function selectManifest(store: Store, desc: Descriptor, platform: Platform, ref: string, depth: number): Promise<Descriptor> {
  if (desc.mediaType !== mediaTypes.ociIndex && desc.mediaType !== mediaTypes.dockerManifestList) return desc
  if (depth > 4) throw new IntegrityError(`image ${ref}: indexes nested too deep`)
  const index = await store.readJson<ImageIndex>(desc.digest)
  const match = index.manifests.find((m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture &&
    (platform.variant === undefined || m.platform.variant === platform.variant))
  if (!match) throw new UserError(`image ${ref} has no ${platform.os}/${platform.architecture} variant`)
  return selectManifest(store, match, platform, ref, depth + 1)
}
