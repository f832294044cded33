// WWW-Authenticate headers (RFC 9110 §11.6.1), as registries send them:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
//   Basic realm="Registry Realm"
// A header may hold several challenges, and fetch joins repeated headers with ", ".

export interface Challenge {
  /** Lower-cased: "bearer", "basic", ... */
  scheme: string
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>
}

const tokenChar = /[A-Za-z0-9!#$%&'*+.^_`|~-]/

export function parseWwwAuthenticate(header: string | null | undefined): Challenge[] {
  const out: Challenge[] = []
  if (!header) return out
  const s = header
  let i = 0
  const skip = (chars: string): void => {
    while (i < s.length && chars.includes(s[i] ?? '')) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < s.length && tokenChar.test(s[i] ?? '')) i++
    return s.slice(start, i)
  }
  const readQuoted = (): string => {
    i++ // opening quote
    let v = ''
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++
      v += s[i]
      i++
    }
    i++ // closing quote (or end)
    return v
  }
  /** Whether a `name=` parameter (not a new challenge) starts at i. */
  const paramAhead = (): boolean => {
    const save = i
    const name = readToken()
    skip(' \t')
    const yes = name.length > 0 && s[i] === '='
    i = save
    return yes
  }

  while (i < s.length) {
    skip(' \t,')
    if (i >= s.length) break
    const scheme = readToken()
    if (scheme.length === 0) {
      i++ // junk: step over it
      continue
    }
    const params: Record<string, string> = Object.create(null) as Record<string, string>
    out.push({ scheme: scheme.toLowerCase(), params })
    while (i < s.length) {
      skip(' \t')
      // Not a `name=`: the next challenge (or token68 credentials, read as one).
      if (!paramAhead()) break
      const name = readToken().toLowerCase()
      skip(' \t')
      i++ // '='
      skip(' \t')
      const value = s[i] === '"' ? readQuoted() : readToken()
      if (name !== '__proto__') params[name] = value
      skip(' \t')
      if (s[i] !== ',') break
      // After a comma comes either another parameter or the next challenge.
      i++
      skip(' \t,')
    }
  }
  return out.map((c) => ({ scheme: c.scheme, params: { ...c.params } }))
}

/** The challenge keel answers: Bearer if offered, else Basic. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic')
}
