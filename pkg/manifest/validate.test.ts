import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { ValidateFunction } from 'ajv'
import { manifestSchemaProblems, schemaHash, validatorsSource } from './validate.js'

// The validators the build compiles ahead of time (scripts/gen-validators.mjs)
// must judge exactly as the ones compiled at run time.
t.test('precompiled validators give the same verdicts and errors as compiled ones', async (t) => {
  // beside this file, so that the module finds ajv's runtime helpers in node_modules
  const dir = mkdtempSync(join(dirname(fileURLToPath(import.meta.url)), '.validators-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'validators.cjs')
  writeFileSync(file, validatorsSource())
  const m = createRequire(import.meta.url)(file) as { manifest: ValidateFunction; label: ValidateFunction; schemaHash: string }
  t.equal(m.schemaHash, schemaHash(), 'stamped with the schema hash')
  const samples: unknown[] = [
    { kernel: { image: 'k', cmdline: 'console=ttyS0' }, init: ['i'], services: [{ name: 's', image: 'b', capabilities: ['all'] }] },
    { kernel: { image: 'k', bogus: 1 }, onboot: [{ name: 'x' }] },
    { services: [{ name: 3, image: 'b', net: ['host'] }], files: [{ path: '/a', mode: 7 }] },
    'not a mapping',
  ]
  for (const [i, sample] of samples.entries()) {
    const viaPrecompiled = m.manifest(sample)
    const problems = manifestSchemaProblems(sample, (path, message) => ({ file: 'x', line: 1, col: 1, path: path.join('.'), message }))
    t.equal(viaPrecompiled, problems.length === 0, `sample ${i}: same verdict`)
    if (!viaPrecompiled) t.ok((m.manifest.errors ?? []).length > 0, `sample ${i}: errors given`)
  }
})
