// An OutputContext for a tree, as keel build makes one, for output tests.
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { treeToTar } from '../../pkg/assemble/index.js'
import { createRealRunner } from '../../pkg/exec/index.js'
import type { FsTree } from '../../pkg/layers/index.js'
import { bootFilesFrom, type OutputContext } from '../../pkg/output/index.js'

export function outputContext(tree: FsTree, dir: string, name: string, mtime: number, extra: Partial<OutputContext> = {}): OutputContext {
  const scratchRoot = mkdtempSync(join(tmpdir(), 'keel-out-scratch-'))
  let n = 0
  const scratch = async (): Promise<string> => {
    const d = join(scratchRoot, String(n++))
    mkdirSync(d)
    return d
  }
  const tar = (): Readable => treeToTar(tree, mtime)
  return { dir, name, mtime, tar, scratch, bootFiles: bootFilesFrom(tar, scratch, mtime), runner: createRealRunner(), ...extra }
}
