// Writes dist/pkg/manifest/validators.cjs: the manifest and label schema
// validators compiled ahead of time by ajv, so `keel` does not spend half a
// second compiling them on every run. Run after tsc (package.json "build").
import { rename, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { validatorsSource } from '../dist/pkg/manifest/validate.js'

const out = fileURLToPath(new URL('../dist/pkg/manifest/validators.cjs', import.meta.url))
await writeFile(`${out}.tmp`, validatorsSource())
await rename(`${out}.tmp`, out)
