import t from 'tap'
import { findOnPath, requireTools } from '../exec/index.js'
import { formatTools, outputFormats } from './index.js'

// The formats keel writes entirely by itself need no host tools.
const selfContained = new Set(['kernel+initrd', 'tar-kernel-initrd', 'tar', 'docker'])

t.test('every format that runs host tools lists them', async (t) => {
  for (const f of Object.keys(outputFormats)) {
    if (selfContained.has(f)) t.notOk(formatTools[f], `${f}: none`)
    else t.ok((formatTools[f]?.length ?? 0) > 0, `${f}: lists its tools`)
  }
  t.same(Object.keys(formatTools).filter((f) => !outputFormats[f]), [], 'no entry for a format that does not exist')
})

t.test('scripts/setup.sh installs every tool the formats need', async (t) => {
  // The suite runs after setup.sh: a tool missing here is one setup.sh forgot.
  for (const [f, tools] of Object.entries(formatTools)) t.doesNotThrow(() => requireTools(tools), f)
  t.ok(findOnPath('xorriso'), 'xorriso is found (the check looks at PATH)')
})
