import t from 'tap'
import { ToolError, UserError, IntegrityError, wrapError, withAction, tailLines, ExitError } from './index.js'

t.test('wrapError keeps the class and the chain', async (t) => {
  const user = new UserError('bad field', { hint: 'fix it' })
  const wrapped = wrapError('reading build.yml', user)
  t.ok(wrapped instanceof UserError)
  t.equal(wrapped.message, 'reading build.yml: bad field')
  t.equal((wrapped as UserError).hint, 'fix it')
  t.equal(wrapped.cause, user)

  const integ = wrapError('pulling x', new IntegrityError('digest mismatch'))
  t.ok(integ instanceof IntegrityError)

  const tool = wrapError('packing', new ToolError('xz failed', { command: 'xz -d', exitCode: 1, stderr: 'a\nb' }))
  t.ok(tool instanceof ToolError)
  t.equal((tool as ToolError).exitCode, 1)
  t.equal((tool as ToolError).command, 'xz -d')

  const plain = wrapError('doing', new Error('boom'))
  t.equal(plain.message, 'doing: boom')
  t.notOk(plain instanceof UserError)
})

t.test('ExitError passes through unwrapped', async (t) => {
  const e = new ExitError(3)
  t.equal(wrapError('x', e), e)
})

t.test('withAction names the action in the error', async (t) => {
  await t.rejects(withAction('fetching foo', async () => { throw new Error('404') }), { message: 'fetching foo: 404' })
  t.equal(await withAction('ok', async () => 5), 5)
})

t.test('tailLines keeps the last lines', async (t) => {
  t.equal(tailLines('1\n2\n3\n', 2), '2\n3')
  t.equal(tailLines('', 2), '')
})
