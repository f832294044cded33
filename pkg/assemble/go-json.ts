// Writes JSON byte for byte as Go's encoding/json does (Go 1.22 and later:
// LinuxKit is built with Go 1.24), so keel's config.json and runtime.json
// equal LinuxKit's.
//
// Values are Go values spelled in JS:
//   string, boolean          Go string, bool
//   number, bigint           Go integers (a bigint for anything past 2^53,
//                            e.g. uint64 2^64-1); a number that is not an
//                            integer is a float64
//   null, undefined          nil (pointer, slice, map or interface)
//   array                    a slice (an empty array is a non-nil empty slice)
//   plain object             a map[string]T: keys are written sorted by their
//                            UTF-8 bytes, as Go sorts them
//   GoStruct                 a struct: fields in declaration order, each with
//                            its json name and omitempty flag
//   GoPtr                    a non-nil pointer (nil is null)
//
// omitempty drops a field whose value is "", false, 0, nil, an empty slice or
// an empty map. A non-nil pointer is never empty, even to "" or to a struct
// whose fields are all dropped (that prints `{}`), and a struct is never empty.
//
// On top of that, a GoType describes a Go type so that plain data (parsed YAML,
// a TS object) can be turned into the GoValue Go would hold (goValue): absent
// fields become zero values, present pointer fields become non-nil pointers.

/** A Go struct value: fields in declaration order. */
export class GoStruct {
  constructor(readonly fields: readonly GoField[]) {}
}

export interface GoField {
  /** The JSON name (the json tag's name, else the Go field name). */
  readonly name: string
  readonly value: GoValue
  readonly omitempty: boolean
}

/** A non-nil Go pointer. */
export class GoPtr {
  constructor(readonly value: GoValue) {}
}

export interface GoMap {
  readonly [key: string]: GoValue
}

export type GoValue = null | undefined | string | boolean | number | bigint | readonly GoValue[] | GoStruct | GoPtr | GoMap

/** goStruct([['name', value], ['other', value, 'omitempty'], ...]) */
export function goStruct(fields: ReadonlyArray<readonly [name: string, value: GoValue, tag?: 'omitempty']>): GoStruct {
  return new GoStruct(fields.map(([name, value, tag]) => ({ name, value, omitempty: tag === 'omitempty' })))
}

export function goPtr(value: GoValue): GoPtr {
  return new GoPtr(value)
}

/** What Go's json.MarshalIndent(v, prefix, indent) returns (no trailing newline). */
export function goMarshalIndent(value: GoValue, prefix = '', indent = '    '): string {
  return encode(value, { prefix, indent }, 0)
}

/** What Go's json.Marshal(v) returns. */
export function goMarshal(value: GoValue): string {
  return encode(value, undefined, 0)
}

/** Go's isEmptyValue, the test behind omitempty. */
export function goIsEmpty(value: GoValue): boolean {
  if (value === null || value === undefined) return true
  switch (typeof value) {
    case 'string': return value.length === 0
    case 'boolean': return !value
    case 'number': return value === 0
    case 'bigint': return value === 0n
  }
  if (Array.isArray(value)) return value.length === 0
  if (value instanceof GoStruct || value instanceof GoPtr) return false
  return Object.keys(value).length === 0
}

/** Orders strings as Go compares them: by their UTF-8 bytes. */
export function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

interface Layout { prefix: string; indent: string }

function encode(value: GoValue, layout: Layout | undefined, depth: number): string {
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'string': return goQuote(value)
    case 'boolean': return value ? 'true' : 'false'
    case 'number': return goNumber(value)
    case 'bigint': return value.toString()
  }
  if (value instanceof GoPtr) return encode(value.value, layout, depth)
  if (Array.isArray(value)) {
    const items = (value as readonly GoValue[]).map((v) => encode(v, layout, depth + 1))
    return wrap('[', items, ']', layout, depth)
  }
  if (value instanceof GoStruct) {
    const members = value.fields
      .filter((f) => !(f.omitempty && goIsEmpty(f.value)))
      .map((f) => member(f.name, f.value, layout, depth))
    return wrap('{', members, '}', layout, depth)
  }
  const map = value as GoMap
  const keys = Object.keys(map).sort(compareGoStrings)
  return wrap('{', keys.map((k) => member(k, map[k], layout, depth)), '}', layout, depth)
}

function member(name: string, value: GoValue, layout: Layout | undefined, depth: number): string {
  return `${goQuote(name)}${layout ? ': ' : ':'}${encode(value, layout, depth + 1)}`
}

// Go's Indent writes an empty object or array as `{}` / `[]`, and otherwise
// puts each element on its own line: prefix, then one indent per level.
function wrap(open: string, items: string[], close: string, layout: Layout | undefined, depth: number): string {
  if (items.length === 0) return `${open}${close}`
  if (!layout) return `${open}${items.join(',')}${close}`
  const line = (d: number): string => `\n${layout.prefix}${layout.indent.repeat(d)}`
  return `${open}${line(depth + 1)}${items.join(`,${line(depth + 1)}`)}${line(depth)}${close}`
}

/**
 * An integer as Go writes any integer type; any other number as Go writes a
 * float64 (shortest repr; exponent form below 1e-6 and from 1e21, as JS does).
 */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`)
  if (n === 0) return '0'
  return String(n)
}

const hex = '0123456789abcdef'

/**
 * A JSON string as Go's encoding/json writes it with HTML escaping on (what
 * Marshal and MarshalIndent use): `"` and `\` escaped; \b \f \n \r \t by
 * name; other bytes below 0x20 and `<` `>` `&` as \u00XX (lower-case hex);
 * U+2028 and U+2029 as \u2028 \u2029; DEL and everything else as itself. A
 * lone surrogate (which no UTF-8 string holds) is written \ufffd, as Go
 * writes a byte that is not UTF-8.
 */
export function goQuote(s: string): string {
  let out = '"'
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let esc: string | undefined
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) continue
      switch (c) {
        case 0x22: esc = '\\"'; break
        case 0x5c: esc = '\\\\'; break
        case 0x08: esc = '\\b'; break
        case 0x0c: esc = '\\f'; break
        case 0x0a: esc = '\\n'; break
        case 0x0d: esc = '\\r'; break
        case 0x09: esc = '\\t'; break
        default: esc = `\\u00${hex[c >> 4]}${hex[c & 0xf]}`
      }
    } else if (c === 0x2028 || c === 0x2029) {
      esc = `\\u202${hex[c & 0xf]}`
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      i++ // a well-formed pair: one character outside the BMP, written as is
      continue
    } else if (c >= 0xd800 && c <= 0xdfff) {
      esc = '\\ufffd'
    } else {
      continue
    }
    out += s.slice(start, i) + esc
    start = i + 1
  }
  return `${out}${s.slice(start)}"`
}

// ---------------------------------------------------------------------------
// Go types, to turn plain data into Go values.

export type GoType =
  | 'string' | 'bool' | 'int' | 'uint' | 'float' | 'any'
  | { readonly kind: 'ptr'; readonly elem: GoType }
  | { readonly kind: 'slice'; readonly elem: GoType }
  | { readonly kind: 'map'; readonly elem: GoType }
  | { readonly kind: 'struct'; readonly fields: readonly GoStructField[] }

export interface GoStructField {
  /** The JSON name, which is also the key read from the data. */
  readonly name: string
  readonly type: GoType
  readonly omitempty: boolean
}

export const goType = {
  ptr: (elem: GoType): GoType => ({ kind: 'ptr', elem }),
  slice: (elem: GoType): GoType => ({ kind: 'slice', elem }),
  map: (elem: GoType): GoType => ({ kind: 'map', elem }),
  /** struct([['name', type], ['other', type, 'omitempty'], ...]) */
  struct: (fields: ReadonlyArray<readonly [name: string, type: GoType, tag?: 'omitempty']>): GoType =>
    ({ kind: 'struct', fields: fields.map(([name, type, tag]) => ({ name, type, omitempty: tag === 'omitempty' })) }),
}

/**
 * The Go value a variable of `type` holds after being filled from `data`:
 * absent (undefined or null) means the zero value (nil for pointers, slices
 * and maps; an all-zero struct), a present value under a pointer type means a
 * non-nil pointer to it. Struct fields are read from the keys of their JSON
 * names; other keys are ignored. Throws a TypeError naming the path when the
 * data does not fit the type.
 */
export function goValue(type: GoType, data: unknown, path = '(value)'): GoValue {
  const absent = data === undefined || data === null
  const wrong = (want: string): never => { throw new TypeError(`${path}: must be ${want}, not ${describe(data)}`) }
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (absent) return ''
        return typeof data === 'string' ? data : wrong('a string')
      case 'bool':
        if (absent) return false
        return typeof data === 'boolean' ? data : wrong('a boolean')
      case 'int':
      case 'uint':
        if (absent) return 0
        if (typeof data === 'bigint' || (typeof data === 'number' && Number.isInteger(data))) {
          if (type === 'uint' && data < 0) wrong('an integer 0 or more')
          return data === 0 ? 0 : data
        }
        return wrong('an integer')
      case 'float':
        if (absent) return 0
        return typeof data === 'number' && Number.isFinite(data) ? data : wrong('a number')
      case 'any':
        return plain(data, path)
    }
  }
  switch (type.kind) {
    case 'ptr':
      return absent ? null : new GoPtr(goValue(type.elem, data, path))
    case 'slice':
      if (absent) return null
      if (!Array.isArray(data)) return wrong('a list')
      return data.map((v, i) => goValue(type.elem, v, `${path}[${i}]`))
    case 'map': {
      if (absent) return null
      if (!isPlainObject(data)) return wrong('an object')
      const out: Record<string, GoValue> = {}
      for (const [k, v] of Object.entries(data)) out[k] = goValue(type.elem, v, `${path}.${k}`)
      return out
    }
    case 'struct': {
      if (!absent && !isPlainObject(data)) return wrong('an object')
      const obj = (absent ? {} : data) as Record<string, unknown>
      return new GoStruct(type.fields.map((f) => ({ name: f.name, omitempty: f.omitempty, value: goValue(f.type, obj[f.name], `${path}.${f.name}`) })))
    }
  }
}

/** Plain JSON-like data as an interface{} holds it: objects are maps. */
function plain(data: unknown, path: string): GoValue {
  if (data === undefined || data === null) return null
  if (typeof data === 'string' || typeof data === 'boolean' || typeof data === 'bigint') return data
  if (typeof data === 'number') {
    if (!Number.isFinite(data)) throw new TypeError(`${path}: ${data} cannot be written as JSON`)
    return data
  }
  if (Array.isArray(data)) return data.map((v, i) => plain(v, `${path}[${i}]`))
  if (data instanceof GoStruct || data instanceof GoPtr) return data
  if (isPlainObject(data)) {
    const out: Record<string, GoValue> = {}
    for (const [k, v] of Object.entries(data)) out[k] = plain(v, `${path}.${k}`)
    return out
  }
  throw new TypeError(`${path}: ${describe(data)} cannot be written as JSON`)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${JSON.stringify(typeof v === 'bigint' ? v.toString() : v)}`
}
