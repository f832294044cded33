import t from 'tap'
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { UserError } from '../errors/index.js'
import { createRealRunner } from '../exec/index.js'
import { ensureDiskFile } from './disk-file.js'

t.test('a missing raw disk is made empty at its size; an existing one is kept as it is', async (t) => {
  const dir = t.testdir({ 'old.img': 'keep me' })
  await ensureDiskFile(join(dir, 'new.img'), 'raw', 64 * 1024 * 1024)
  t.equal(statSync(join(dir, 'new.img')).size, 64 * 1024 * 1024)
  t.ok(statSync(join(dir, 'new.img')).blocks * 512 < 1024 * 1024, 'sparse')
  await ensureDiskFile(join(dir, 'old.img'), 'raw', 1024)
  t.equal(readFileSync(join(dir, 'old.img'), 'utf8'), 'keep me')
})

t.test('a missing qcow2 disk is made by qemu-img', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'd.qcow2')
  await ensureDiskFile(path, 'qcow2', 128 * 1024 * 1024)
  const info = JSON.parse((await createRealRunner().run('qemu-img', ['info', '--output=json', path])).stdout) as { format: string; 'virtual-size': number }
  t.equal(info.format, 'qcow2')
  t.equal(info['virtual-size'], 128 * 1024 * 1024)
})

t.test('a folder, or a disk that cannot be made, is a clear error', async (t) => {
  const dir = t.testdir({})
  mkdirSync(join(dir, 'folder'))
  await t.rejects(ensureDiskFile(join(dir, 'folder'), 'raw', 1024), new UserError(`--disk ${join(dir, 'folder')}: is a folder, not a disk image`))
  await t.rejects(ensureDiskFile(join(dir, 'no/such/dir.img'), 'raw', 1024), { message: /--disk .*no\/such\/dir\.img: cannot create it: ENOENT/ })
})
