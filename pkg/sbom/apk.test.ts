import t from 'tap'
import { MAX_DATABASE_BYTES, MAX_PACKAGES } from './types.js'
import { parseApkInstalled } from './apk.js'

// Shaped like Alpine 3.20's lib/apk/db/installed (file lists shortened).
const installed = `C:Q1c8dSxOHvs4Y3Bxq1y4Fq1Bt+d3Y=
P:musl
V:1.2.5-r0
A:x86_64
S:411323
I:649216
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712682580
c:3d1ee6e0b87c21e5b7de3fd5ec8f3ca1c6b1e43f
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1rNxkSGbxVVTWTgF2YvCNm7lK1WA=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1OlYjyg8K6gE9aW9kYz8Ykp5d06E=
P:busybox-binsh
V:1.36.1-r29
A:x86_64
S:1543
o:busybox
D:busybox=1.36.1-r29
F:bin
R:sh

C:Q1x0000000000000000000000000000=
P:scanelf
V:1.3.7-r2
A:x86_64
o:pax-utils
`

t.test('parses P, V, A and o; skips file lists', async (t) => {
  t.same(parseApkInstalled(installed), [
    { type: 'apk', name: 'musl', version: '1.2.5-r0', architecture: 'x86_64', source: 'musl' },
    { type: 'apk', name: 'busybox-binsh', version: '1.36.1-r29', architecture: 'x86_64', source: 'busybox' },
    { type: 'apk', name: 'scanelf', version: '1.3.7-r2', architecture: 'x86_64', source: 'pax-utils' },
  ])
})

t.test('CRLF, missing fields, stray lines', async (t) => {
  const text = ['P:a', 'V:1-r0', '', 'P:no-version', 'A:aarch64', '', 'V:2-r0', '', 'junk', 'P:b', 'V:3-r1', 'x:'].join('\r\n')
  t.same(parseApkInstalled(text), [
    { type: 'apk', name: 'a', version: '1-r0' },
    { type: 'apk', name: 'b', version: '3-r1' },
  ])
  t.same(parseApkInstalled(''), [])
})

t.test('bounds name the file', async (t) => {
  t.throws(() => parseApkInstalled('x'.repeat(MAX_DATABASE_BYTES + 1)),
    { name: 'UserError', message: /^lib\/apk\/db\/installed: .*larger than 64 MiB/ })
  t.throws(() => parseApkInstalled('P:p\nV:1\n\n'.repeat(MAX_PACKAGES + 1), { file: 'usr/lib/apk/db/installed' }),
    { name: 'UserError', message: /^usr\/lib\/apk\/db\/installed: more than 100000 packages/ })
})
