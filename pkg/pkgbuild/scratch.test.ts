import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, rmSync, statfsSync, utimesSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createTreeDir } from './scratch.js'

const shmIsTmpfs = ((): boolean => {
  try {
    return statfsSync('/dev/shm').type === 0x01021994
  } catch {
    return false
  }
})()

t.test('a folder that is not a tmpfs, or tmpfs: false, gives WORK/rootfs', async (t) => {
  const work = t.testdir()
  for (const options of [{ tmpfs: work }, { tmpfs: false as const }]) {
    const tree = await createTreeDir(work, 'x', options)
    t.equal(tree.path, join(work, 'rootfs'))
    t.notOk(tree.onTmpfs)
    t.ok(lstatSync(tree.path).isDirectory())
    await tree.dispose()
    t.notOk(existsSync(tree.path))
  }
})

t.test('a tmpfs with too little room is not used', async (t) => {
  const work = t.testdir()
  const tree = await createTreeDir(work, 'x', { tmpfs: '/dev/shm', minFreeBytes: Number.MAX_SAFE_INTEGER })
  t.notOk(tree.onTmpfs)
  await tree.dispose()
})

t.test('on /dev/shm: a private new folder, removed after; leftovers of dead builds are cleared', { skip: shmIsTmpfs ? false : '/dev/shm is not a tmpfs here' }, async (t) => {
  const work = t.testdir()
  // A process id that is not running: a short-lived child's, after it ended.
  const dead = spawnSync('true').pid!
  const deadOne = join('/dev/shm', `keel-pkg-stale-test-${dead}-AbC123`)
  const oldOne = join('/dev/shm', `keel-pkg-stale-test-${process.pid}-XyZ789`)
  const liveOne = join('/dev/shm', `keel-pkg-live-test-${process.pid}-QwE456`)
  for (const d of [deadOne, oldOne, liveOne]) mkdirSync(join(d, 'rootfs'), { recursive: true })
  const old = new Date(Date.now() - 25 * 3600 * 1000)
  utimesSync(oldOne, old, old)
  t.teardown(() => rmSync(liveOne, { recursive: true, force: true }))
  const tree = await createTreeDir(work, 'x', { minFreeBytes: 1 })
  t.ok(tree.onTmpfs)
  t.match(tree.path, new RegExp(`^/dev/shm/keel-pkg-x-${process.pid}-[A-Za-z0-9]{6}/rootfs$`))
  t.equal(lstatSync(dirname(tree.path)).mode & 0o777, 0o700, 'only ours')
  t.notOk(existsSync(deadOne), 'the leftover of a killed build is gone')
  t.notOk(existsSync(oldOne), 'and a day-old one')
  t.ok(existsSync(liveOne), 'a running build\'s tree stays')
  await tree.dispose()
  t.notOk(existsSync(dirname(tree.path)))
})
