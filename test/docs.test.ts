// docs/manifest.md is generated from the schema; this keeps it that way.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { renderManifestReference } from '../pkg/manifest/index.js'

t.test('docs/manifest.md matches the schema (run `npm run docs` after changing it)', async (t) => {
  const onDisk = readFileSync(new URL('../docs/manifest.md', import.meta.url), 'utf8')
  t.equal(onDisk, renderManifestReference())
})

t.test('every field of every entry is documented', async (t) => {
  const doc = renderManifestReference()
  for (const field of ['capabilities.add', 'binds.add', 'rootfsPropagation', 'uidMappings', 'bindNS', 'createInRoot', 'throttleReadBpsDevice', 'restart', 'after', 'metadata', 'platforms', 'ucode']) {
    t.match(doc, new RegExp(`\\| \`${field.replace('.', '\\.')}\``), field)
  }
})
