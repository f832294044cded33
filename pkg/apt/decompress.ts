// Decompressing xz / lzma / zstd files with the external tools. The output is
// written by the tool itself (not through our stdout pipe), so that outputs of
// hundreds of megabytes (a kernel's data.tar) do not go through the runner's
// output buffer.
import { copyFile, rename } from 'node:fs/promises'
import type { ToolRunner } from '../exec/index.js'

export type ToolCompression = 'xz' | 'lzma' | 'zstd'

/**
 * Decompresses `input` into `output`. `scratch` is a path in the same
 * directory as `output` that the function may create (and leaves behind only
 * on failure, for the caller's cleanup). `input` is left untouched, unless it
 * is `scratch` plus the tool's suffix (".xz", ".lzma"): then it is consumed
 * instead of copied.
 */
export async function decompressFile(
  runner: ToolRunner, kind: ToolCompression, input: string, output: string, scratch: string,
): Promise<void> {
  if (kind === 'zstd') {
    await runner.run('zstd', ['-d', '-q', '-f', input, '-o', output])
    return
  }
  // xz decompresses a file in place, dropping its suffix: work on a copy.
  const suffix = kind === 'xz' ? '.xz' : '.lzma'
  const packed = scratch + suffix
  if (input !== packed) await copyFile(input, packed)
  await runner.run('xz', ['-d', '-q', '-f', '-T0', ...(kind === 'lzma' ? ['--format=lzma'] : []), '--', packed])
  if (scratch !== output) await rename(scratch, output)
}
