import t from 'tap'
import { ConsoleMatcher } from './console.js'

t.test('expected lines are matched in order across chunk boundaries', async (t) => {
  const m = new ConsoleMatcher(['hello from onboot', /service \d+ up/])
  t.notOk(m.push('[    1.0] boot\r\nhello fr'))
  t.notOk(m.push('om onboot\nservice 7'))
  t.ok(m.push(' up\n'))
  t.same(m.result(), { ok: true, seen: ['hello from onboot', '/service \\d+ up/'], missing: undefined })
  await m.whenDone()
})

t.test('negative control: a line that never comes fails and is named', async (t) => {
  const m = new ConsoleMatcher(['first', 'never printed'])
  m.push('first\nsecond\n')
  m.end()
  t.same(m.result(), { ok: false, seen: ['first'], missing: 'never printed' })
})

t.test('order matters: a line seen before its predecessor does not count', async (t) => {
  const m = new ConsoleMatcher(['a', 'b'])
  m.push('b\na\n')
  t.same(m.result().missing, 'b')
})

t.test('escape sequences and carriage returns are stripped', async (t) => {
  const m = new ConsoleMatcher(['login ok'])
  m.push('\x1b[1;32mlogin ok\x1b[0m\r\n')
  t.ok(m.done)
  t.equal(m.transcript, 'login ok')
})

t.test('prompts without a newline match when asked to', async (t) => {
  const strict = new ConsoleMatcher(['/ # '])
  t.notOk(strict.push('welcome\n/ # '))
  const prompt = new ConsoleMatcher(['/ # ', 'done'], { matchPartial: true })
  t.notOk(prompt.push('welcome\n/ # '))
  t.same(prompt.result().seen, ['/ # '])
  t.ok(prompt.push('echo done\ndone\n'))
})
