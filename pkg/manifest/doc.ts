// docs/manifest.md, generated from the schema so the two cannot drift
// (test/docs.test.ts compares them; `npm run docs` rewrites the file).
import { manifestSchema } from './schema.js'

type Schema = Record<string, unknown>

const intro = `# Manifest reference

<!-- Generated from pkg/manifest/schema.ts by \`npm run docs\`; do not edit by hand. -->

A keel manifest is a LinuxKit manifest: every LinuxKit field below means what
it means in LinuxKit, and a LinuxKit manifest works unchanged. Unknown fields
are refused, with a "did you mean" for misspellings. keel's own additions are
under \`keel:\` in a service entry and are marked *keel*; LinuxKit refuses them.

Several manifests given to one command are merged in order: kernel fields are
replaced by later non-empty values (binary, tar and ucode by any later value),
lists are concatenated, and service names must stay unique. Unlike LinuxKit,
volumes from every file are kept.

An image may be a registry reference (\`linuxkit/getty:TAG\`,
\`ghcr.io/owner/repo@sha256:...\`), \`@pkg:PATH\` (a package folder relative to the
manifest, built when missing), or one of skopeo's transports:
\`docker-archive:PATH\`, \`oci-archive:PATH\`, \`oci:DIR[:REF]\`.

For each entry, a field comes from the manifest, else from the image's
\`org.mobyproject.config\` label, else (command, env and cwd) from the image's
config, else the default. \`capabilities\` and \`binds\` replace the label's
list; \`capabilities.add\` and \`binds.add\` add to it.
`

function typeOf(s: Schema): string {
  if (Array.isArray(s['enum'])) return `one of ${(s['enum'] as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`
  if (Array.isArray(s['anyOf'])) return (s['anyOf'] as Schema[]).map(typeOf).join(' or ')
  switch (s['type']) {
    case 'string': return typeof s['pattern'] === 'string' ? `string (${String(s['x-hint'] ?? s['pattern'])})` : 'string'
    case 'integer': return typeof s['minimum'] === 'number' ? `integer ≥ ${s['minimum']}` : 'integer'
    case 'boolean': return 'boolean'
    case 'array': {
      const items = (s['items'] ?? {}) as Schema
      return items['type'] === 'object' ? 'list of mappings' : `list of ${typeOf(items).replace(/^string/, 'strings').replace(/^integer/, 'integers')}`
    }
    case 'object': return s['properties'] ? 'mapping' : 'mapping of strings'
    default: return 'any'
  }
}

function table(title: string, path: string, s: Schema, out: string[], nested: Array<[string, Schema]>): void {
  const props = (s['properties'] ?? {}) as Record<string, Schema>
  const required = new Set((s['required'] ?? []) as string[])
  out.push(`## ${title}`, '', String(s['description'] ?? ''), '', '| field | type | description |', '|---|---|---|')
  for (const [name, p] of Object.entries(props)) {
    const keel = p['x-keel'] === true ? ' *keel*' : ''
    const req = required.has(name) ? ' (required)' : ''
    out.push(`| \`${name}\`${req}${keel} | ${typeOf(p)} | ${String(p['description'] ?? '').replace(/\|/g, '\\|')} |`)
    const inner = p['type'] === 'array' ? (p['items'] as Schema) : p
    if (inner['type'] === 'object' && inner['properties']) nested.push([`${path === '' ? '' : `${path}.`}${name}${p['type'] === 'array' ? '[]' : ''}`, { ...inner, description: p['type'] === 'array' ? inner['description'] : p['description'] }])
  }
  out.push('')
}

export function renderManifestReference(): string {
  const out: string[] = [intro]
  const queue: Array<[string, Schema]> = [['Top level', manifestSchema]]
  const seen = new Set<Schema>()
  const entryTitle = 'onboot[], onshutdown[], services[]'
  while (queue.length > 0) {
    const [title, s] = queue.shift()!
    // The three entry lists share one schema: document it once.
    const props = (s['properties'] ?? {}) as Record<string, unknown>
    if (seen.has(props as Schema)) continue
    seen.add(props as Schema)
    const entry = /^(onboot|onshutdown|services)\[\]/
    const path = title === 'Top level' ? '' : title.replace(entry, 'entry')
    const name = title === 'Top level' ? title : entry.test(title) && !title.includes('.') ? entryTitle : path
    const nested: Array<[string, Schema]> = []
    table(name, path, s, out, nested)
    queue.push(...nested)
  }
  return `${out.join('\n').trimEnd()}\n`
}
