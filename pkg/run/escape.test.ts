import t from 'tap'
import { EscapeFilter } from './escape.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const text = (items: ReturnType<EscapeFilter['push']>): Array<string | { command: string }> =>
  items.map((i) => ('data' in i ? i.data.toString('latin1') : { command: i.command }))

t.test('plain input, Ctrl-C included, goes to the guest unchanged', async (t) => {
  t.same(text(new EscapeFilter().push(b('ls -l\r\x03'))), ['ls -l\r\x03'])
})

t.test('Ctrl-] then a key is a command, in order with the input around it', async (t) => {
  const f = new EscapeFilter()
  t.same(text(f.push(b('ab\x1dpcd'))), ['ab', { command: 'poweroff' }, 'cd'])
  t.same(text(f.push(b('\x1dq'))), [{ command: 'quit' }])
  t.same(text(f.push(b('\x1d?x\x1dh'))), [{ command: 'help' }, 'x', { command: 'help' }])
})

t.test('the escape may end one chunk and its key start the next', async (t) => {
  const f = new EscapeFilter()
  t.same(text(f.push(b('ab\x1d'))), ['ab'])
  t.same(text(f.push(b('Qz'))), [{ command: 'quit' }, 'z'])
})

t.test('Ctrl-] twice sends one Ctrl-]', async (t) => {
  t.same(text(new EscapeFilter().push(b('\x1d\x1d'))), ['\x1d'])
})
