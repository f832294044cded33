// Shared by the benchmarks: run a command under GNU time for wall time and peak memory.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const exec = promisify(execFile)
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export interface Measured { seconds: number; maxRssMiB: number }

/** Runs a command under GNU time; returns wall seconds and peak RSS. */
export async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  const { stderr } = await exec('/usr/bin/time', ['-f', 'KEEL_TIME %e %M', cmd, ...args], {
    env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
  })
  const m = /KEEL_TIME ([0-9.]+) ([0-9]+)/.exec(stderr)
  if (!m) throw new Error(`no timing from ${cmd}: ${stderr}`)
  return { seconds: Number(m[1]), maxRssMiB: Number(m[2]) / 1024 }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}
