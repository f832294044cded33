// Reading the manifests a command is given: each file checked alone, then
// merged and checked as a whole, with every problem from every file reported
// together.
import { UserError } from '../errors/index.js'
import { checkManifest, crossChecks, mergeManifests, readManifestText } from './parse.js'
import type { Manifest } from './types.js'
import { formatProblem, type Problem } from './yaml.js'

export interface LoadResult {
  /** The merged manifest, when every file was valid. */
  manifest: Manifest | undefined
  /** Every problem, one line each: file:line:col: path: message. */
  problems: string[]
  warnings: string[]
}

/** Checks and merges `files` ("-" is stdin) without throwing for bad input. */
export async function checkManifestFiles(files: readonly string[], stdin?: () => Promise<string>, cwd = process.cwd()): Promise<LoadResult> {
  const lines: string[] = []
  const found: Problem[] = []
  const manifests: Manifest[] = []
  let complete = true
  for (const file of files) {
    try {
      const { text, name, dir } = await readManifestText(file, stdin, cwd)
      const result = checkManifest(text, name, dir)
      found.push(...result.problems)
      if (result.manifest) manifests.push(result.manifest)
      else complete = false
    } catch (err) {
      if (!(err instanceof UserError)) throw err
      lines.push(...err.message.split('\n'))
      complete = false
    }
  }
  // Checks across files run on whatever was well-formed, so that one
  // run reports as much as it can.
  const merged = mergeManifests(manifests, { check: false })
  found.push(...crossChecks(merged))
  const problems = [...lines, ...sortProblems(found, files).map(formatProblem)]
  return { manifest: complete && problems.length === 0 ? merged : undefined, problems, warnings: merged.warnings }
}

/** Reads, checks and merges `files`; throws one UserError listing every problem. */
export async function loadManifests(files: readonly string[], stdin?: () => Promise<string>, cwd = process.cwd()): Promise<Manifest> {
  const result = await checkManifestFiles(files, stdin, cwd)
  if (!result.manifest || result.problems.length > 0) throw new UserError(result.problems.join('\n'))
  return result.manifest
}

/** In the order the files were given, then by position. */
function sortProblems(problems: readonly Problem[], files: readonly string[]): Problem[] {
  const rank = (f: string): number => {
    const i = files.indexOf(f === '<stdin>' ? '-' : f)
    return i < 0 ? files.length : i
  }
  return [...problems].sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.col - b.col)
}

