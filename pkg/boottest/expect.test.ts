import t from 'tap'
import { describeItem, ExpectScript, LineSplitter, parseExpect } from './expect.js'

t.test('an expect file: text, regex, prompt, send, comments and escapes', async (t) => {
  const { items, problems } = parseExpect([
    '# a comment', '', 'hello from a service', '/^\\[init [0-9.]+\\] all services/i',
    'prompt: / # ', 'send: echo hi  ', '\\# a line starting with a hash', '\\send: literally',
  ].join('\n'), 'expect')
  t.same(problems, [])
  t.same(items.map((i) => [i.kind, i.line]), [['text', 3], ['regex', 4], ['prompt', 5], ['send', 6], ['text', 7], ['text', 8]])
  t.same(items.map(describeItem), [
    '"hello from a service"', '/^\\[init [0-9.]+\\] all services/i', 'prompt "/ #"', 'send "echo hi  "',
    '"# a line starting with a hash"', '"send: literally"',
  ])
})

t.test('bad regexes and empty files are reported with file and line', async (t) => {
  t.match(parseExpect('ok\n/[unclosed/\n', 'cases/x/expect').problems, [/^cases\/x\/expect:2: Invalid regular expression/])
  t.same(parseExpect('# nothing\n\nsend: x\n', 'e').problems, ['e: expects nothing; list at least one line the console must show'])
  t.same(parseExpect('prompt:\n', 'e').problems, ['e:1: prompt: needs the text of the prompt'])
})

t.test('the splitter completes lines across chunks and cleans them', async (t) => {
  const s = new LineSplitter()
  t.same(s.push('\x1b[1mhel'), [])
  t.equal(s.partial, 'hel')
  t.same(s.push('lo\x1b[0m\r\nwor'), ['hello'])
  t.same(s.end(), ['wor'])
  t.same(s.end(), [])
})

const script = (text: string): { s: ExpectScript; sent: string[] } => {
  const sent: string[] = []
  const s = new ExpectScript(parseExpect(text, 'e').items, (x) => sent.push(x))
  s.start()
  return { s, sent }
}

t.test('lines are matched in order; a line seen too early does not count', async (t) => {
  const { s } = script('a\nb\n')
  s.line('b')
  s.line('a')
  t.equal(s.done, false)
  t.equal(describeItem(s.missing!), '"b"')
  s.line('xbx')
  t.equal(s.done, true)
})

t.test('negative control: a line that never comes is named', async (t) => {
  const { s } = script('first\nnever printed\n')
  s.line('first')
  s.line('second')
  t.equal(s.done, false)
  t.equal(s.missing?.line, 2)
})

t.test('sends fire once what is above them has been seen; prompts match unfinished lines', async (t) => {
  const { s, sent } = script('send: early\nbooted\nprompt: / #\nsend: echo keel-$((6*7))\nkeel-42\nsend: poweroff\n')
  t.same(sent, ['early\n'], 'a leading send goes at start')
  s.line('booted')
  s.partial('/ ')
  t.same(sent, ['early\n'])
  s.partial('/ # ')
  t.same(sent, ['early\n', 'echo keel-$((6*7))\n'])
  // The prompt line, completed by the echo of the command, is not offered to "keel-42".
  s.line('/ # echo keel-42')
  t.equal(s.done, false, 'the line that satisfied the prompt is used up')
  s.line('keel-42')
  t.same(sent, ['early\n', 'echo keel-$((6*7))\n', 'poweroff\n'])
  t.equal(s.done, true)
})

t.test('a plain line item does not match an unfinished line', async (t) => {
  const { s } = script('login:\n')
  s.partial('login: ')
  t.equal(s.done, false)
  s.line('login: ')
  t.equal(s.done, true)
})

t.test('run, powerdown, kill and boot: parsed, and bad forms named', async (t) => {
  const { items, problems } = parseExpect('up\nrun: ./talk.sh 1\npowerdown:\nkill:\nboot:\nagain\n', 'e')
  t.same(problems, [])
  t.same(items.map((i) => i.kind), ['text', 'run', 'powerdown', 'kill', 'boot', 'text'])
  t.same(items.map(describeItem).slice(1, 5), ['run "./talk.sh 1"', 'powerdown:', 'kill:', 'boot:'])
  t.same(parseExpect('x\nrun:\n', 'e').problems, ['e:2: run: needs a command'])
  t.same(parseExpect('x\nboot: now\n', 'e').problems, ['e:2: boot: takes nothing after it'])
  t.same(parseExpect('run: a\npowerdown:\n', 'e').problems, ['e: expects nothing; list at least one line the console must show'])
})

t.test('actions fire in order; run: holds lines until it ends; after boot: lines wait for the new boot', async (t) => {
  const acts: string[] = []
  const sent: string[] = []
  const s = new ExpectScript(parseExpect('ready\nrun: check\nchecked\npowerdown:\nPower down\nboot:\nsend: hi\nagain\n', 'e').items,
    (x) => sent.push(x), (item) => acts.push(describeItem(item)))
  s.start()
  t.same(acts, [])
  s.line('ready')
  t.same(acts, ['run "check"'], 'run fires once "ready" is seen')
  t.equal(s.awaiting, 'run')
  s.line('checked by the host')
  s.line('reboot: Power down')
  t.same(acts, ['run "check"'], 'nothing after run: happens while it runs')
  s.resume()
  t.same(acts, ['run "check"', 'powerdown:', 'boot:'], 'the held lines are matched once the command ended')
  t.equal(s.awaiting, 'boot')
  s.line('again')
  t.equal(s.done, false, 'a line before the new boot does not count')
  t.same(sent, [])
  s.resume()
  t.equal(s.awaiting, undefined)
  t.same(sent, ['hi\n'], 'the send after boot: goes once the machine is up again')
  s.line('again')
  t.equal(s.done, true)
})

t.test('negative control: without resume() a run: holds the script', async (t) => {
  const s = new ExpectScript(parseExpect('ready\nrun: check\nchecked\n', 'e').items, () => undefined)
  s.start()
  s.line('ready')
  s.line('checked')
  t.equal(s.done, false)
  t.equal(s.missing?.kind, 'run')
})

t.test('a line the guest prints right after a prompt still counts, when nothing was typed there', async (t) => {
  const acts: string[] = []
  const s = new ExpectScript(parseExpect('prompt: / #\npowerdown:\npower button pressed\n', 'e').items, () => undefined, (i) => acts.push(i.kind))
  s.start()
  const sp = new LineSplitter()
  for (const chunk of ['/ # ', '[init 42.7] power button pressed: power off\r\n']) {
    for (const l of sp.push(chunk)) s.line(l)
    s.partial(sp.partial)
  }
  t.same(acts, ['powerdown'])
  t.equal(s.done, true)
  // Negative control: after a send, the rest of that line is the typed echo and does not count.
  const typed = new ExpectScript(parseExpect('prompt: / #\nsend: echo power button pressed\npower button pressed\n', 'e').items, () => undefined)
  typed.start()
  typed.partial('/ # ')
  typed.line('/ # echo power button pressed')
  t.equal(typed.done, false)
})
