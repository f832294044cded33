// The initrd is written as several cpio archives, each its own gzip member
// (pkg/output/kernel-initrd.ts). The real kernel must unpack them all, and a
// hard link whose file went into an earlier archive must still be one file
// with two names (the writer sends the file again before the link).
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-pieces-'))
t.teardown(() => rmSync(out, { recursive: true, force: true }))

t.test('a hard link across initrd pieces is one file after boot', async (t) => {
  const build = await keel(['build', '-o', out, 'test/fixtures/initrd-pieces/pieces.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  const cpio = gunzipSync(readFileSync(join(out, 'pieces-initrd.img'))).toString('latin1')
  const trailers = cpio.split('TRAILER!!!').length - 1
  t.ok(trailers >= 3, `the initrd has several archives (${trailers})`)
  t.ok(cpio.indexOf('zz/again') > cpio.lastIndexOf('TRAILER!!!', cpio.indexOf('zz/again')) &&
    cpio.lastIndexOf('TRAILER!!!', cpio.indexOf('zz/again')) > cpio.indexOf('a/big'), 'the link is in a later archive than the file')

  const boot = await bootAndWatch(join(out, 'pieces'), ['pieces: big inode=', 'pieces: one file, two names', 'reboot: Power down'], { timeoutMs: 180_000 })
  if (!boot.ok) t.comment(`console:\n${boot.console}\nstderr:\n${boot.stderr}`)
  t.ok(boot.ok, `every expected line came${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.match(boot.console, /big inode=(\d+) links=2 size=3000000; again inode=\1 links=2 size=3000000/)
})
