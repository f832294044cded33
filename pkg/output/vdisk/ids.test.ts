import t from 'tap'
import { createHash } from 'node:crypto'
import { ContentDigest, deriveUuid, guidBytes, parseUuid, UNIT, uuidString } from './ids.js'

const digestOf = (s: string): Buffer => createHash('sha256').update(s).digest()

t.test('derived UUIDs are stable, version 4 shaped, and depend on content, label and seed', async (t) => {
  const d = digestOf('content')
  const u = deriveUuid(d, 'label')
  t.equal(u.length, 16)
  t.match(uuidString(u), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.same(deriveUuid(d, 'label'), u, 'same inputs, same UUID')
  t.same(deriveUuid(d, 'label', ''), u, 'no seed is the empty seed')
  t.notSame(deriveUuid(d, 'other label'), u)
  t.notSame(deriveUuid(d, 'label', 'seed'), u)
  t.notSame(deriveUuid(digestOf('other content'), 'label'), u)
  // Pinned: a change here changes every image keel has ever written.
  t.equal(uuidString(deriveUuid(Buffer.alloc(32), 'x', 'y')), '6f2126b7-b346-4e2e-9b20-e1f561760da8')
  t.equal(uuidString(deriveUuidRef(Buffer.alloc(32), 'x', 'y')), '6f2126b7-b346-4e2e-9b20-e1f561760da8', 'as documented')
})

// An independent statement of the derivation documented in ids.ts.
function deriveUuidRef(digest: Buffer, label: string, seed: string): Buffer {
  const h = createHash('sha256').update(`["keel-vdisk-id/v1",${JSON.stringify(label)},${JSON.stringify(seed)},"${digest.toString('hex')}"]`).digest()
  const b = h.subarray(0, 16)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  return b
}

t.test('GUIDs go to disk in Microsoft layout', async (t) => {
  const u = parseUuid('2dc27766-f623-4200-9d64-115e9bfd4a08')
  t.equal(guidBytes(u).toString('hex'), '6677c22d23f600429d64115e9bfd4a08')
  t.equal(uuidString(u), '2dc27766-f623-4200-9d64-115e9bfd4a08')
  t.throws(() => parseUuid('nope'))
})

t.test('the content digest skips zero units but not their positions', async (t) => {
  const a = Buffer.alloc(4 * UNIT)
  a[UNIT + 5] = 1
  const b = Buffer.alloc(4 * UNIT)
  b[2 * UNIT + 5] = 1
  const run = (buf: Buffer, size: number): [string, boolean[]] => {
    const d = new ContentDigest()
    const nz = d.update(buf, 0)
    return [d.digest(size).toString('hex'), [...nz]]
  }
  const [da, nza] = run(a, a.length)
  t.same(nza, [false, true, false, false])
  const [db] = run(b, b.length)
  t.not(da, db, 'same bytes at another unit differ')
  t.not(run(a, a.length - 1)[0], da, 'the size counts')
  // Fed in two pieces, the digest is the same.
  const d = new ContentDigest()
  d.update(a.subarray(0, 2 * UNIT), 0)
  d.update(a.subarray(2 * UNIT), 2)
  t.equal(d.digest(a.length).toString('hex'), da)
  t.throws(() => d.update(Buffer.alloc(10), 9), /whole number of units/)
})
