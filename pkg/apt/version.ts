// Debian version ordering (Debian Policy §5.6.12): [epoch:]upstream[-revision].
// Epochs compare numerically; upstream and revision compare by alternating
// runs of non-digits (lexically, with '~' before everything, then the end of
// the string, then letters, then everything else) and digits (numerically).

interface ParsedVersion {
  epoch: string
  upstream: string
  revision: string
}

function splitVersion(v: string): ParsedVersion {
  let rest = v.trim()
  let epoch = '0'
  const colon = rest.indexOf(':')
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = rest.slice(0, colon)
    rest = rest.slice(colon + 1)
  }
  let revision = ''
  const dash = rest.lastIndexOf('-')
  if (dash >= 0) {
    revision = rest.slice(dash + 1)
    rest = rest.slice(0, dash)
  }
  return { epoch, upstream: rest, revision }
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

/** Sort weight of one character in a non-digit run; 0 stands for "end of run". */
function weight(code: number): number {
  if (code === 126 /* ~ */) return -1
  if (isLetter(code)) return code
  return code + 256
}

/** Compares two runs of decimal digits numerically without converting them to numbers. */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, '')
  const y = b.replace(/^0+/, '')
  if (x.length !== y.length) return x.length < y.length ? -1 : 1
  return x < y ? -1 : x > y ? 1 : 0
}

function comparePart(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    // Non-digit run.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ca = i < a.length && !isDigit(a.charCodeAt(i)) ? weight(a.charCodeAt(i)) : 0
      const cb = j < b.length && !isDigit(b.charCodeAt(j)) ? weight(b.charCodeAt(j)) : 0
      if (ca !== cb) return ca < cb ? -1 : 1
      if (i < a.length && !isDigit(a.charCodeAt(i))) i++
      if (j < b.length && !isDigit(b.charCodeAt(j))) j++
    }
    // Digit run.
    let ei = i
    while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++
    let ej = j
    while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++
    const c = compareDigits(a.slice(i, ei), b.slice(j, ej))
    if (c !== 0) return c
    i = ei
    j = ej
  }
  return 0
}

/** dpkg ordering of two version strings: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0
  const va = splitVersion(a)
  const vb = splitVersion(b)
  const e = compareDigits(va.epoch, vb.epoch)
  if (e !== 0) return e
  const u = comparePart(va.upstream, vb.upstream)
  if (u !== 0) return u
  return comparePart(va.revision, vb.revision)
}

export type VersionOp = '<<' | '<=' | '=' | '>=' | '>>'

/** Whether `version` satisfies `op wanted`. The obsolete '<' and '>' mean '<=' and '>='. */
export function versionSatisfies(version: string, op: VersionOp, wanted: string): boolean {
  const c = compareVersions(version, wanted)
  switch (op) {
    case '<<': return c < 0
    case '<=': return c <= 0
    case '=': return c === 0
    case '>=': return c >= 0
    case '>>': return c > 0
  }
}
