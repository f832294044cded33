// Manifest → an ImageSource for every image it names. `@pkg:DIR` images are
// built from their package folder when the store lacks their tag; other
// references must already be in the store (pulling from registries and
// archives is a later step of this pipeline).
import { UserError, withAction } from '../errors/index.js'
import { pkgPrefix, type Manifest, type Origin } from '../manifest/index.js'
import { normalizeReference, type ImageSource } from '../oci/index.js'
import { buildPackage, type BuildContext } from '../pkgbuild/index.js'

export interface ResolvedImage {
  /** The image string as the manifest gives it (after @pkg: paths were made absolute). */
  name: string
  source: ImageSource
}

/** Every image string a manifest names, each once, with where it first appears. */
export function imagesOf(m: Manifest): Array<{ name: string; origin: Origin | undefined }> {
  const out = new Map<string, Origin | undefined>()
  const add = (name: string, key: string): void => {
    if (!out.has(name)) out.set(name, m.origins.get(key))
  }
  if (m.kernel) add(m.kernel.image, 'kernel')
  m.init.forEach((img, i) => add(img, `init[${i}]`))
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    m[section].forEach((e, i) => add(e.image, `${section}[${i}]`))
  }
  return [...out].map(([name, origin]) => ({ name, origin }))
}

export async function resolveImages(m: Manifest, ctx: BuildContext): Promise<Map<string, ImageSource>> {
  const resolved = new Map<string, ImageSource>()
  for (const { name, origin } of imagesOf(m)) {
    const at = origin ? `${origin.file}:${origin.line}:${origin.col}: ${origin.path}` : name
    const source = await withAction(at, () => resolveOne(name, ctx))
    resolved.set(name, source)
  }
  return resolved
}

async function resolveOne(name: string, ctx: BuildContext): Promise<ImageSource> {
  if (name.startsWith(pkgPrefix)) {
    const dir = name.slice(pkgPrefix.length)
    const built = await buildPackage(dir, ctx)
    const src = await ctx.store.imageSource(built.ref)
    if (!src) throw new UserError(`package ${dir} was built as ${built.ref} but the store does not have it`)
    return src
  }
  const ref = normalizeReference(name)
  const src = await ctx.store.imageSource(ref)
  if (!src) {
    throw new UserError(`image ${name} (${ref}) is not in the local store at ${ctx.store.root}`, {
      hint: 'keel can build images from package folders (image: "@pkg:PATH"); pulling from registries is not implemented yet',
    })
  }
  return src
}
