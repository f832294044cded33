import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './io.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs, with its errors turned into usage errors. */
export function parseCommandArgs<O extends Options>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message, usage)
  }
}

export function parseIntOption(value: string | undefined, name: string, usage: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} must be a whole number, not ${JSON.stringify(value)}`, usage)
  return Number(value)
}

/** "512M", "2G", "1048576", "100K" (binary units) → bytes. */
export function parseSize(value: string, usage: string): number {
  const m = /^([0-9]+)([KMGT]?)i?B?$/i.exec(value.trim())
  if (!m) throw new UsageError(`--size must be a number of bytes with an optional K, M, G or T, not ${JSON.stringify(value)}`, usage)
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T']
  const bytes = Number(m[1]) * unit
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`--size ${value} is out of range`, usage)
  return bytes
}
