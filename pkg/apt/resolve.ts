// Dependency closure over an ArchiveIndex: Depends and Pre-Depends, followed
// transitively, one version per package name, no backtracking.
import { IntegrityError, UserError } from '../errors/index.js'
import type { ArchiveIndex } from './archive.js'
import { parseDepends, parseProvides, type DebPackage, type DepAtom, type DepList, type Provided } from './packages.js'
import { compareVersions, versionSatisfies } from './version.js'

export interface ResolveOptions {
  /** Names (real or virtual) taken as already present: they satisfy any dependency on them and are never pulled in. */
  exclude?: string[]
}

interface Group {
  atoms: DepAtom[]
  from: DebPackage
}

/**
 * The packages named in `names` (each optionally `name=version`) and
 * everything they depend on, sorted by name.
 *
 * Alternatives (`a | b`) prefer one already chosen, else the first that has a
 * candidate; dependencies that leave a choice (alternatives, virtual names with
 * several providers) are decided after all unambiguous ones, so that an
 * alternative chosen elsewhere is found. Among candidates the highest version
 * wins; a virtual name with several providing packages picks the first by name.
 */
export function resolvePackages(index: ArchiveIndex, names: string[], opts: ResolveOptions = {}): DebPackage[] {
  return new Resolver(index, opts.exclude ?? []).run(names)
}

function stripQualifier(name: string): string {
  const colon = name.indexOf(':')
  return colon >= 0 ? name.slice(0, colon) : name
}

/** Whether an architecture restriction term (e.g. `amd64`, `linux-any`, `any-amd64`) matches `arch`. */
function archTermMatches(term: string, arch: string): boolean {
  return term === arch || term === 'any' || term === 'linux-any' || term === `linux-${arch}` || term === `any-${arch}`
}

/** Whether a dependency atom applies on `arch` with no build profile active. */
export function atomApplies(atom: DepAtom, arch: string): boolean {
  if (atom.archs !== undefined && atom.archs.length > 0) {
    const positive = atom.archs.filter((a) => !a.startsWith('!'))
    if (positive.length > 0) {
      if (!positive.some((a) => archTermMatches(a, arch))) return false
    } else if (atom.archs.some((a) => archTermMatches(a.slice(1), arch))) {
      return false
    }
  }
  if (atom.profiles !== undefined && atom.profiles.length > 0) {
    // A group holds when all its terms do; with no profile active only negated terms hold.
    return atom.profiles.some((g) => g.every((term) => term.startsWith('!')))
  }
  return true
}

class Resolver {
  private readonly chosen = new Map<string, DebPackage>()
  /** Who pulled each chosen package in (undefined: requested). */
  private readonly parent = new Map<string, DebPackage | undefined>()
  private readonly queue: DebPackage[] = []
  private readonly deferred: Group[] = []
  private readonly depsCache = new Map<DebPackage, DepList>()
  private readonly providesCache = new Map<DebPackage, Provided[]>()
  private readonly exclude: Set<string>

  constructor(private readonly index: ArchiveIndex, exclude: string[]) {
    this.exclude = new Set(exclude.map((e) => stripQualifier(e.trim())).filter((e) => e !== ''))
  }

  run(names: string[]): DebPackage[] {
    const virtualRequests: string[] = []
    for (const raw of names) {
      const req = raw.trim()
      const eq = req.indexOf('=')
      const name = stripQualifier(eq >= 0 ? req.slice(0, eq) : req)
      const version = eq >= 0 ? req.slice(eq + 1).trim() : undefined
      if (name === '') throw new UserError(`empty package name in "${raw}"`)
      if (this.exclude.has(name)) throw new UserError(`package "${name}" is both requested and excluded`)
      const real = this.index.packages.get(name)
      if (real === undefined || real.length === 0) {
        if (version === undefined && (this.index.providers.get(name)?.length ?? 0) > 0) {
          virtualRequests.push(name)
          continue
        }
        throw this.unknown(name)
      }
      const pick = version === undefined ? real[0] : real.find((p) => compareVersions(p.version, version) === 0)
      if (pick === undefined) {
        throw new UserError(`package "${name}" has no version ${version}; available: ${real.map((p) => p.version).join(', ')}`)
      }
      const prev = this.chosen.get(name)
      if (prev !== undefined && prev !== pick) {
        throw new UserError(`package "${name}" requested as both ${prev.version} and ${pick.version}`)
      }
      this.add(pick, undefined)
    }
    for (const name of virtualRequests) this.resolveRequestedVirtual(name)

    while (this.queue.length > 0 || this.deferred.length > 0) {
      const pkg = this.queue.shift()
      if (pkg !== undefined) {
        for (const atoms of this.deps(pkg)) {
          const group = { atoms: atoms.filter((a) => atomApplies(a, this.index.arch)), from: pkg }
          if (group.atoms.length === 0) continue
          if (this.isSimple(group)) this.resolveGroup(group)
          else this.deferred.push(group)
        }
        continue
      }
      this.resolveGroup(this.deferred.shift() as Group)
    }
    return [...this.chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  private add(pkg: DebPackage, from: DebPackage | undefined): void {
    if (this.chosen.has(pkg.name)) return
    this.chosen.set(pkg.name, pkg)
    this.parent.set(pkg.name, from)
    this.queue.push(pkg)
  }

  private resolveRequestedVirtual(name: string): void {
    const atom: DepAtom = { name, text: name }
    if (this.satisfiedByChosen(atom)) return
    const cands = this.candidates(atom)
    const pick = cands[0]
    if (pick === undefined) throw this.unknown(name)
    this.add(pick, undefined)
  }

  private deps(pkg: DebPackage): DepList {
    let d = this.depsCache.get(pkg)
    if (d !== undefined) return d
    d = []
    for (const [field, text] of [['Pre-Depends', pkg.preDepends], ['Depends', pkg.depends]] as const) {
      const parsed = parseDepends(text)
      if (parsed.bad.length > 0) {
        throw new IntegrityError(`package ${pkg.name} ${pkg.version}: malformed ${field} entry "${parsed.bad[0]}"`)
      }
      d.push(...parsed.deps)
    }
    this.depsCache.set(pkg, d)
    return d
  }

  private provided(pkg: DebPackage): Provided[] {
    let p = this.providesCache.get(pkg)
    if (p === undefined) {
      p = parseProvides(pkg.provides)
      this.providesCache.set(pkg, p)
    }
    return p
  }

  /** Whether `pkg` provides `atom.name` in a way that satisfies the atom's version constraint. */
  private providesAtom(pkg: DebPackage, atom: DepAtom): boolean {
    for (const prov of this.provided(pkg)) {
      if (prov.name !== atom.name) continue
      if (atom.op === undefined || atom.version === undefined) return true
      // An unversioned Provides never satisfies a versioned dependency.
      if (prov.version !== undefined && versionSatisfies(prov.version, atom.op, atom.version)) return true
    }
    return false
  }

  private realSatisfies(pkg: DebPackage, atom: DepAtom): boolean {
    return atom.op === undefined || atom.version === undefined || versionSatisfies(pkg.version, atom.op, atom.version)
  }

  private isExcluded(atom: DepAtom): boolean {
    if (this.exclude.has(atom.name)) return true
    return (this.index.providers.get(atom.name) ?? []).some((p) => this.exclude.has(p.name))
  }

  private satisfiedByChosen(atom: DepAtom): boolean {
    const real = this.chosen.get(atom.name)
    if (real !== undefined && this.realSatisfies(real, atom)) return true
    for (const p of this.index.providers.get(atom.name) ?? []) {
      if (this.chosen.get(p.name) === p && this.providesAtom(p, atom)) return true
    }
    return false
  }

  /** Packages that could satisfy `atom` and can still be chosen, best first. */
  private candidates(atom: DepAtom): DebPackage[] {
    const ok = (p: DebPackage): boolean => {
      const c = this.chosen.get(p.name)
      return (c === undefined || c === p) && !this.exclude.has(p.name)
    }
    const real = (this.index.packages.get(atom.name) ?? []).filter((p) => ok(p) && this.realSatisfies(p, atom))
    const virt = (this.index.providers.get(atom.name) ?? [])
      .filter((p) => ok(p) && this.providesAtom(p, atom))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(b.version, a.version)))
    return [...real, ...virt]
  }

  /** A group without a real choice: one atom whose candidates all share one package name. */
  private isSimple(group: Group): boolean {
    if (group.atoms.length !== 1) return false
    const atom = group.atoms[0] as DepAtom
    if (this.isExcluded(atom) || this.satisfiedByChosen(atom)) return true
    const cands = this.candidates(atom)
    return cands.length === 0 || cands.every((c) => c.name === cands[0]?.name)
  }

  private resolveGroup(group: Group): void {
    for (const atom of group.atoms) {
      if (this.isExcluded(atom) || this.satisfiedByChosen(atom)) return
    }
    for (const atom of group.atoms) {
      const pick = this.candidates(atom)[0]
      if (pick !== undefined) {
        this.add(pick, group.from)
        return
      }
    }
    throw this.unsatisfiable(group)
  }

  private chain(pkg: DebPackage): string {
    const names: string[] = []
    const seen = new Set<string>()
    let cur: DebPackage | undefined = pkg
    while (cur !== undefined && !seen.has(cur.name)) {
      seen.add(cur.name)
      names.push(cur.name)
      cur = this.parent.get(cur.name)
    }
    return names.join(' <- ')
  }

  private unsatisfiable(group: Group): UserError {
    const want = group.atoms.map((a) => a.text).join(' | ')
    const avail: string[] = []
    for (const atom of group.atoms) {
      for (const p of this.index.packages.get(atom.name) ?? []) {
        const c = this.chosen.get(p.name)
        avail.push(`${p.name} ${p.version}${c === p ? ' (chosen)' : ''}`)
      }
      for (const p of this.index.providers.get(atom.name) ?? []) {
        const prov = this.provided(p).find((x) => x.name === atom.name)
        const as = prov?.version === undefined ? atom.name : `${atom.name} ${prov.version}`
        avail.push(`${p.name} ${p.version} (provides ${as})`)
      }
    }
    const shown = [...new Set(avail)]
    const list = shown.length === 0 ? 'none' : shown.slice(0, 12).join(', ') + (shown.length > 12 ? ', ...' : '')
    const chosenConflicts = group.atoms
      .map((a) => this.chosen.get(a.name))
      .filter((c): c is DebPackage => c !== undefined)
    const hint = chosenConflicts.length > 0
      ? `already chosen: ${chosenConflicts.map((c) => `${c.name} ${c.version} (needed by ${this.chain(c)})`).join(', ')}`
      : `add it to the exclude list if it is provided some other way`
    return new UserError(`cannot satisfy "${want}" needed by ${this.chain(group.from)}: available: ${list}`, { hint })
  }

  private unknown(name: string): UserError {
    const sugg = suggest(name, [...this.index.packages.keys(), ...this.index.providers.keys()])
    return new UserError(
      `unknown package "${name}"${sugg.length > 0 ? ` (did you mean: ${sugg.join(', ')}?)` : ''}`,
      sugg.length > 0 ? { hint: `did you mean: ${sugg.join(', ')}` } : {},
    )
  }
}

/**
 * Up to five names close to `name`: small edit distance first, then names
 * whose beginning is close to it (a partial name), then names containing it.
 */
export function suggest(name: string, names: Iterable<string>): string[] {
  const max = Math.max(1, Math.min(3, Math.floor(name.length / 3)))
  const scored: { n: string; d: number }[] = []
  const seen = new Set<string>()
  for (const n of names) {
    if (seen.has(n)) continue
    seen.add(n)
    if (Math.abs(n.length - name.length) <= max) {
      const d = editDistance(name, n, max)
      if (d <= max) {
        scored.push({ n, d })
        continue
      }
    }
    if (n.length > name.length && name.length >= 3) {
      let best = max + 1
      for (let len = name.length - 1; len <= name.length + 1; len++) {
        best = Math.min(best, editDistance(name, n.slice(0, len), max))
      }
      if (best <= max) {
        scored.push({ n, d: best + 0.5 + (n.length - name.length) / 1000 })
        continue
      }
      if (n.includes(name)) scored.push({ n, d: max + 1 + (n.length - name.length) / 1000 })
    }
  }
  scored.sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
  return scored.slice(0, 5).map((s) => s.n)
}

/** Levenshtein distance, giving up (returning max+1) once it exceeds `max`. */
function editDistance(a: string, b: string, max: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
      cur.push(v)
      if (v < rowMin) rowMin = v
    }
    if (rowMin > max) return max + 1
    prev = cur
  }
  return prev[b.length] ?? max + 1
}
