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
