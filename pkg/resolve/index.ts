// Manifest → an ImageSource for every image it names:
//   @pkg:DIR                 built from the package folder when its tag is missing
//   docker-archive:PATH[:REF] imported from a `docker save` archive
//   oci-archive:PATH[:REF]   imported from a tar of an OCI image layout
//   oci:DIR[:REF]            imported from an OCI image layout folder
//   anything else            a registry reference: from the store, pulled when missing
import { createHash } from 'node:crypto'
import { UserError, withAction } from '../errors/index.js'
import { pkgPrefix, splitTransport, type Manifest, type Origin } from '../manifest/index.js'
import { normalizeReference, type ImageSource, type Platform } from '../oci/index.js'
import { buildPackage, type BuildContext } from '../pkgbuild/index.js'
import type { RegistryClient } from '../registry/index.js'
import { importArchive, importOciLayout, imageSourceOf, pullImage, type ProgressEvent } from '../store/index.js'

export interface ResolveContext extends BuildContext {
  /** For registry references; without one, images must already be in the store. */
  registry?: RegistryClient
  platform: Platform
  /** Pull registry images even when the store has them (a tag may have moved). */
  pull?: boolean
  onProgress?: (ev: ProgressEvent) => void
}

/** Every image string a manifest names, each once, with where it first appears. */
export function imagesOf(m: Manifest): Array<{ name: string; origin: Origin | undefined }> {
  const out = new Map<string, Origin | undefined>()
  const add = (name: string, key: string): void => {
    if (!out.has(name)) out.set(name, m.origins.get(key))
  }
  if (m.kernel?.image) add(m.kernel.image, 'kernel')
  m.init.forEach((img, i) => add(img, `init[${i}]`))
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    m[section].forEach((e, i) => add(e.image, `${section}[${i}]`))
  }
  m.volumes.forEach((v, i) => { if (v.image) add(v.image, `volumes[${i}]`) })
  return [...out].map(([name, origin]) => ({ name, origin }))
}

export async function resolveImages(m: Manifest, ctx: ResolveContext): Promise<Map<string, ImageSource>> {
  const resolved = new Map<string, ImageSource>()
  for (const { name, origin } of imagesOf(m)) {
    const at = origin ? `${origin.file}:${origin.line}:${origin.col}: ${origin.path}` : name
    resolved.set(name, await withAction(at, () => resolveImage(name, ctx)))
  }
  return resolved
}

export async function resolveImage(name: string, ctx: ResolveContext): Promise<ImageSource> {
  if (name.startsWith(pkgPrefix)) {
    const built = await buildPackage(name.slice(pkgPrefix.length), ctx)
    return openStored(built.ref, ctx)
  }
  const transport = splitTransport(name)
  if (transport) return importTransport(name, transport, ctx)
  const ref = normalizeReference(name)
  if (ctx.pull || !(await ctx.store.resolve(ref))) {
    if (!ctx.registry) {
      throw new UserError(`image ${name} (${ref}) is not in the local store at ${ctx.store.root}`, { hint: 'pull it with: keel cache pull ' + name })
    }
    await pullImage(ctx.store, ref, { client: ctx.registry, log: ctx.log, platform: ctx.platform, ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}) })
  }
  return openStored(ref, ctx)
}

async function openStored(ref: string, ctx: ResolveContext): Promise<ImageSource> {
  const descriptor = await ctx.store.resolve(ref)
  if (!descriptor) throw new UserError(`image ${ref} is not in the store at ${ctx.store.root}`)
  return imageSourceOf(ctx.store, ref, descriptor, ctx.platform)
}

/** Imports an archive or layout into the store under a name derived from where it came from. */
async function importTransport(name: string, t: NonNullable<ReturnType<typeof splitTransport>>, ctx: ResolveContext): Promise<ImageSource> {
  const local = `keel.local/import/${createHash('sha256').update(name).digest('hex').slice(0, 16)}:${(t.ref ?? 'latest').replace(/[^\w.-]/g, '_').slice(0, 128) || 'latest'}`
  if (t.transport === 'oci:') {
    const { descriptor } = await importOciLayout(ctx.store, t.path, { ...(t.ref === undefined ? {} : { ref: t.ref }), name: local })
    return imageSourceOf(ctx.store, name, descriptor, ctx.platform)
  }
  const images = await importArchive(ctx.store, t.path, { format: t.transport === 'docker-archive:' ? 'docker-archive' : 'oci-archive', log: ctx.log })
  let chosen = images[0]
  if (images.length !== 1 || t.ref !== undefined) {
    // An OCI archive may name images by bare tag ("latest"); match that, or a full reference.
    const want = t.ref === undefined ? undefined : normalizeReference(t.ref)
    chosen = t.ref === undefined ? undefined : images.find((i) => i.refName === t.ref || i.ref === want)
    if (!chosen) {
      const names = images.map((i) => i.ref ?? i.descriptor.digest).join(', ')
      throw new UserError(`${t.path}: ${t.ref === undefined ? `holds ${images.length} images; name one as ${t.transport}${t.path}:NAME` : `has no image ${t.ref}`} (it has: ${names || 'none'})`)
    }
  }
  await ctx.store.tag(local, chosen!.descriptor)
  return imageSourceOf(ctx.store, name, chosen!.descriptor, ctx.platform)
}
