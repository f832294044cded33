// In-memory OCI images for tests: layers built from literal entries.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { mediaTypes, sha256Digest, type Descriptor, type Digest, type ImageConfig, type ImageSource } from '../../pkg/oci/index.js'
import type { Store } from '../../pkg/store/index.js'

export interface LayerEntry {
  name: string
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo'
  mode?: number
  uid?: number
  gid?: number
  linkname?: string
  content?: string | Buffer
  devmajor?: number
  devminor?: number
}

/** A tar archive of `entries`, in the order given. */
export async function tarOf(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c))
  })()
  for (const e of entries) {
    const type = e.type ?? (e.content !== undefined ? 'file' : 'directory')
    const body = e.content === undefined ? undefined : Buffer.from(e.content)
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
        mtime: new Date(0), ...(e.linkname ? { linkname: e.linkname } : {}),
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      }
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (body) pack.entry(header, body, cb)
      else pack.entry(header, cb)
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

/** An ImageSource whose layers are gzip'd tars of the given entries. */
export async function memoryImage(ref: string, layers: LayerEntry[][], config: Partial<ImageConfig['config']> = {}): Promise<ImageSource> {
  const tars = await Promise.all(layers.map(tarOf))
  const blobs = tars.map((t) => gzipSync(t))
  const imageConfig: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { ...config },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}` as Digest) },
  }
  const configBytes = Buffer.from(JSON.stringify(imageConfig))
  const layerDescriptors = blobs.map((b) => ({ mediaType: mediaTypes.ociLayerGzip, digest: sha256Digest(b), size: b.length }))
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: sha256Digest(configBytes), size: configBytes.length },
    layers: layerDescriptors,
    annotations: { 'dev.keel.test.ref': ref },
  }))
  return {
    ref,
    digest: sha256Digest(manifestBytes),
    config: imageConfig,
    layers: blobs.map((b, i) => ({ descriptor: layerDescriptors[i]!, open: () => Readable.from([b]) })),
    manifestBytes,
    configBytes,
  }
}

/** Puts an image made of literal layers into `store` under `ref`; returns its manifest descriptor. */
export async function storeMemoryImage(store: Store, ref: string, layers: LayerEntry[][], config: Partial<ImageConfig['config']> = {}, platform: { os: string; architecture: string } = { os: 'linux', architecture: 'amd64' }): Promise<Descriptor> {
  const tars = await Promise.all(layers.map(tarOf))
  const descs: Descriptor[] = []
  for (const t of tars) {
    const gz = gzipSync(t)
    descs.push({ mediaType: mediaTypes.ociLayerGzip, ...(await store.putBlob(gz)) })
  }
  const imageConfig: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    config: { ...config },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}` as Digest) },
  }
  return store.putImage(ref, imageConfig, descs)
}
