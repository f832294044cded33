import t from 'tap'
import { execFileSync } from 'node:child_process'
import { formatShCommand, quotePs, quoteSh } from './quote.js'
import { checkPsStructure, readPsSingleQuoted } from './testing.js'

const tricky = ['plain', 'two words', "it's", '$HOME and `id`', 'a"b', '\\back\\slash', '*?[x]', '', 'semi;colon&|<>', '~user', 'new\nline', '‘curly’ ‚low‛']

t.test('sh: safe words stay bare, others are single-quoted', async (t) => {
  t.equal(quoteSh('/o/x-kernel'), '/o/x-kernel')
  t.equal(quoteSh('kexec,/a,/b,console=ttyS0'), 'kexec,/a,/b,console=ttyS0')
  t.equal(quoteSh('two words'), "'two words'")
  t.equal(quoteSh("it's"), "'it'\\''s'")
  t.equal(quoteSh(''), "''")
  t.equal(quoteSh('$HOME'), "'$HOME'")
})

t.test('sh: a real shell reads every tricky word back unchanged', async (t) => {
  const line = `printf '%s\\0' ${formatShCommand(tricky)}`
  const out = execFileSync('sh', ['-c', line], { encoding: 'utf8' })
  t.same(out.split('\0').slice(0, -1), tricky)
})

t.test('PowerShell: single quotes, every quote character doubled', async (t) => {
  t.equal(quotePs('Default Switch'), "'Default Switch'")
  t.equal(quotePs("it's"), "'it''s'")
  t.equal(quotePs('$env:TEMP `n "x"'), "'$env:TEMP `n \"x\"'")
  t.equal(quotePs('‘x’'), "'‘‘x’’'")
  for (const s of tricky) t.equal(readPsSingleQuoted(quotePs(s)), s, JSON.stringify(s))
})

t.test('PowerShell: the reader is strict enough to catch a missed quote', async (t) => {
  t.throws(() => readPsSingleQuoted("'it's'"))
  t.throws(() => readPsSingleQuoted("'a’b'"))
})

t.test('PowerShell: the structure check finds an unclosed string or brace', async (t) => {
  t.same(checkPsStructure("if ($a) { Write-Host 'x''y' \"z`\"\" } # '"), [])
  t.ok(checkPsStructure("Write-Host 'x").length > 0)
  t.ok(checkPsStructure('if ($a) { x').length > 0)
})
