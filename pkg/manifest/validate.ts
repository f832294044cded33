// Schema validation with messages a person can act on: every ajv error is
// turned into a Problem at the right YAML position, with "did you mean" for
// misspelt keys, and the noise of anyOf branches folded into one line.
//
// Compiling the schema takes ajv about half a second, so the build writes the
// compiled validators beside this file (validators.cjs, by
// scripts/gen-validators.mjs) and they are loaded from there when their
// schema hash matches; otherwise the schema is compiled here.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import { labelSchema, manifestSchema } from './schema.js'
import { suggest, type Problem, type YamlPath } from './yaml.js'

interface Validators { manifest: ValidateFunction; label: ValidateFunction }

let compiled: Validators | undefined

// ajv itself is loaded only to compile (generating the validators, or when
// they were not generated): the precompiled ones need none of it, and
// loading it costs a build a tenth of a second.
const requireHere = createRequire(import.meta.url)

function newAjv(source: boolean): Ajv {
  const { Ajv: AjvClass } = requireHere('ajv') as typeof import('ajv')
  const ajv = new AjvClass({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, ...(source ? { code: { source: true } } : {}) })
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
  ajv.addKeyword({ keyword: 'x-keel', schemaType: 'boolean' })
  return ajv
}

/** A hash of both schemas: the compiled validators are used only for the schemas they came from. */
export function schemaHash(): string {
  return createHash('sha256').update(JSON.stringify([manifestSchema, labelSchema])).digest('hex')
}

/** The source of a CommonJS module exporting both validators and the hash of their schemas. */
export function validatorsSource(): string {
  const ajv = newAjv(true)
  ajv.addSchema(manifestSchema, 'manifest')
  ajv.addSchema(labelSchema, 'label')
  const standalone = requireHere('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')
  const code = standalone.default(ajv, { manifest: 'manifest', label: 'label' })
  return `${code}\nexports.schemaHash = ${JSON.stringify(schemaHash())};\n`
}

function precompiled(): Validators | undefined {
  try {
    const m = requireHere('./validators.cjs') as Partial<Validators> & { schemaHash?: string }
    if (m.schemaHash === schemaHash() && m.manifest && m.label) return { manifest: m.manifest, label: m.label }
  } catch {
    // not generated (a build without scripts/gen-validators.mjs): compile below
  }
  return undefined
}

function validators(): Validators {
  if (!compiled) {
    compiled = precompiled()
    if (!compiled) {
      const ajv = newAjv(false)
      compiled = { manifest: ajv.compile(manifestSchema), label: ajv.compile(labelSchema) }
    }
  }
  return compiled
}

/** Where a problem is reported: a YAML path, and whether it points at the key. */
export type Locate = (path: YamlPath, message: string, atKey?: boolean) => Problem

export function manifestSchemaProblems(data: unknown, locate: Locate): Problem[] {
  const v = validators().manifest
  return v(data) ? [] : toProblems(v.errors ?? [], locate)
}

export function labelSchemaProblems(data: unknown, locate: Locate): Problem[] {
  const v = validators().label
  return v(data) ? [] : toProblems(v.errors ?? [], locate)
}

const typeWords: Record<string, string> = {
  string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false',
  array: 'a list', object: 'a mapping', null: 'empty',
}

function toProblems(errors: ErrorObject[], locate: Locate): Problem[] {
  // anyOf reports each failed branch and then itself: keep only the anyOf line.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf')
  const kept = errors.filter((e) => e.keyword === 'anyOf' || !anyOfs.some((a) =>
    e.instancePath === a.instancePath && e.schemaPath.startsWith(a.schemaPath.replace(/\/anyOf$/, '/anyOf/'))))
  const out: Problem[] = []
  const seen = new Set<string>()
  for (const e of kept) {
    const path = pointerToPath(e.instancePath)
    const problem = describe(e, path, locate)
    const key = `${problem.line}:${problem.col}:${problem.path}:${problem.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(problem)
  }
  return out
}

function describe(e: ErrorObject, path: YamlPath, locate: Locate): Problem {
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty)
      const known = Object.keys((parent['properties'] ?? {}) as Record<string, unknown>)
      const near = suggest(key, known)
      return locate([...path, key], `unknown field${near ? `; did you mean "${near}"?` : ` (known: ${known.join(', ')})`}`, true)
    }
    case 'required':
      return locate(path, `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`)
    case 'type': {
      const t = (e.params as { type: string | string[] }).type
      const words = (Array.isArray(t) ? t : String(t).split(',')).map((x) => typeWords[x] ?? x)
      return locate(path, `must be ${words.join(' or ')}`)
    }
    case 'enum':
      return locate(path, `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`)
    case 'pattern': {
      const hint = typeof parent['x-hint'] === 'string' ? parent['x-hint'] : `text matching ${String(parent['pattern'])}`
      return locate(path, `${JSON.stringify(e.data)} is not valid: use ${hint}`)
    }
    case 'minLength':
      return locate(path, 'must not be empty')
    case 'minimum':
      return locate(path, `must be at least ${String((e.params as { limit: number }).limit)}`)
    case 'anyOf': {
      if (typeof parent['x-hint'] === 'string') return locate(path, `must be ${parent['x-hint']}`)
      const branches = ((parent['anyOf'] ?? []) as Array<{ type?: string }>).map((b) => typeWords[b.type ?? ''] ?? b.type)
      const words = branches.map((w) => (w === 'a string' ? 'a name' : w))
      return locate(path, `must be ${words.join(' or ')}`)
    }
    default:
      return locate(path, e.message ?? e.keyword)
  }
}

function pointerToPath(pointer: string): YamlPath {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map((raw) => {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    return /^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s
  })
}
