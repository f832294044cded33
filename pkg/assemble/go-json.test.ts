// Expected strings follow Go 1.24's encoding/json (encode.go appendString,
// isEmptyValue, the map encoder's sort, floatEncoder; indent.go Indent).
import t from 'tap'
import { compareGoStrings, goIsEmpty, goMarshal, goMarshalIndent, goPtr, goQuote, goStruct, goType, goValue, GoPtr, GoStruct } from './go-json.js'

t.test('strings are escaped as Go escapes them, HTML-safe', async (t) => {
  const table: Array<[string, string]> = [
    ['plain', '"plain"'],
    ['"', '"\\""'],
    ['\\', '"\\\\"'],
    ['/', '"/"'],
    ['\n', '"\\n"'],
    ['\r', '"\\r"'],
    ['\t', '"\\t"'],
    ['\b', '"\\b"'], // Go 1.22+: named, not \u0008
    ['\f', '"\\f"'], // Go 1.22+: named, not \u000c
    ['\u0000', '"\\u0000"'],
    ['\u0001', '"\\u0001"'],
    ['\u000b', '"\\u000b"'],
    ['\u001b', '"\\u001b"'],
    ['\u001f', '"\\u001f"'],
    [' ', '" "'],
    ['<', '"\\u003c"'],
    ['>', '"\\u003e"'],
    ['&', '"\\u0026"'],
    ["'", '"\'"'],
    ['\u007f', '"\u007f"'], // DEL is written as is
    ['\u0080', '"\u0080"'],
    ['é', '"é"'],
    ['\u2027', '"\u2027"'],
    ['\u2028', '"\\u2028"'],
    ['\u2029', '"\\u2029"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\ud83d', '"\\ufffd"'], // a lone surrogate: Go writes invalid UTF-8 as \ufffd
    ['a\udc00b', '"a\\ufffdb"'],
    ['x<y>&"z"\n', '"x\\u003cy\\u003e\\u0026\\"z\\"\\n"'],
  ]
  const name = (s: string): string => [...s].map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`).join(' ')
  for (const [input, want] of table) t.equal(goQuote(input), want, name(input))
  t.equal(goMarshal({ '<k>': 'v' }), '{"\\u003ck\\u003e":"v"}', 'map keys are escaped too')
})

t.test('map keys are sorted by their UTF-8 bytes', async (t) => {
  const m = { b: 1, a: 2, B: 3, 'é': 4, '\uff61': 5, '\u{1F600}': 6, '': 7, a0: 8 }
  t.equal(goMarshal(m), '{"":7,"B":3,"a":2,"a0":8,"b":1,"é":4,"\uff61":5,"\u{1F600}":6}')
  t.ok(compareGoStrings('\uff61', '\u{1F600}') < 0, 'U+FF61 (EF BD A1) before U+1F600 (F0 ...), unlike UTF-16 order')
  t.equal(compareGoStrings('a', 'a'), 0)
})

t.test('struct fields keep their order; omitempty by kind', async (t) => {
  const s = goStruct([
    ['z', 1], ['a', 2],
    ['emptyString', '', 'omitempty'], ['falseBool', false, 'omitempty'], ['zero', 0, 'omitempty'], ['zeroBig', 0n, 'omitempty'],
    ['nil', null, 'omitempty'], ['undef', undefined, 'omitempty'], ['emptySlice', [], 'omitempty'], ['emptyMap', {}, 'omitempty'],
    ['ptrToEmptyString', goPtr(''), 'omitempty'], ['ptrToZero', goPtr(0), 'omitempty'], ['ptrToFalse', goPtr(false), 'omitempty'],
    ['ptrToEmptyStruct', goPtr(goStruct([['x', '', 'omitempty']])), 'omitempty'],
    ['ptrToEmptySlice', goPtr([]), 'omitempty'],
    ['emptyStruct', goStruct([]), 'omitempty'],
    ['kept', 'x', 'omitempty'],
    ['nilNoOmit', null], ['emptySliceNoOmit', []], ['emptyMapNoOmit', {}], ['emptyStringNoOmit', ''], ['falseNoOmit', false],
  ])
  t.equal(goMarshal(s), '{"z":1,"a":2,"ptrToEmptyString":"","ptrToZero":0,"ptrToFalse":false,"ptrToEmptyStruct":{},"ptrToEmptySlice":[],'
    + '"emptyStruct":{},"kept":"x","nilNoOmit":null,"emptySliceNoOmit":[],"emptyMapNoOmit":{},"emptyStringNoOmit":"","falseNoOmit":false}')
  t.equal(goIsEmpty(new GoPtr(null)), false, 'a non-nil pointer to nil is not empty')
  t.equal(goIsEmpty(new GoStruct([])), false, 'a struct is never empty')
  t.equal(goIsEmpty([0]), false)
  t.equal(goIsEmpty({ a: null }), false)
})

t.test('integers are exact, with no exponent; floats as Go writes float64', async (t) => {
  t.equal(goMarshal(18446744073709551615n), '18446744073709551615', 'uint64 max')
  t.equal(goMarshal(-9223372036854775808n), '-9223372036854775808', 'int64 min')
  t.equal(goMarshal(Number.MAX_SAFE_INTEGER), '9007199254740991')
  t.equal(goMarshal(1e20), '100000000000000000000')
  t.equal(goMarshal(-5), '-5')
  t.equal(goMarshal(-0), '0')
  t.equal(goMarshal(1.5), '1.5')
  t.equal(goMarshal(0.000001), '0.000001')
  t.equal(goMarshal(1e-7), '1e-7', 'Go trims e-07 to e-7')
  t.equal(goMarshal(1.5e-10), '1.5e-10')
  t.equal(goMarshal(1e21), '1e+21')
  t.throws(() => goMarshal(Number.NaN), /unsupported value/)
  t.throws(() => goMarshal(Infinity), /unsupported value/)
})

t.test('MarshalIndent layout: 4 spaces, ": ", empty containers stay on one line, no trailing newline', async (t) => {
  const v = goStruct([
    ['a', [1, 2]], ['b', []], ['c', {}], ['d', goStruct([])], ['e', [[], {}, [goStruct([])]]], ['f', { y: 'x', x: [] }], ['g', null],
  ])
  t.equal(goMarshalIndent(v), [
    '{',
    '    "a": [',
    '        1,',
    '        2',
    '    ],',
    '    "b": [],',
    '    "c": {},',
    '    "d": {},',
    '    "e": [',
    '        [],',
    '        {},',
    '        [',
    '            {}',
    '        ]',
    '    ],',
    '    "f": {',
    '        "x": [],',
    '        "y": "x"',
    '    },',
    '    "g": null',
    '}',
  ].join('\n'))
  t.equal(goMarshalIndent([]), '[]')
  t.equal(goMarshalIndent('s'), '"s"')
  t.equal(goMarshalIndent({ a: [1] }, '>', '\t'), '{\n>\t"a": [\n>\t\t1\n>\t]\n>}', 'prefix starts every line but the first')
  t.equal(goMarshal(goStruct([['a', [1, { b: true }]]])), '{"a":[1,{"b":true}]}', 'Marshal is compact')
})

t.test('goValue: plain data into the Go value a typed variable holds', async (t) => {
  const { ptr, slice, map, struct } = goType
  const type = struct([
    ['s', 'string'], ['so', 'string', 'omitempty'], ['n', 'int'], ['u', 'uint', 'omitempty'], ['b', 'bool'],
    ['p', ptr('int'), 'omitempty'], ['ps', ptr(slice('string')), 'omitempty'], ['sl', slice('string')], ['m', map('string'), 'omitempty'],
    ['inner', struct([['x', 'int']])], ['pi', ptr(struct([['x', 'int', 'omitempty']])), 'omitempty'], ['any', 'any', 'omitempty'],
  ])
  t.equal(goMarshal(goValue(type, {})), '{"s":"","n":0,"b":false,"sl":null,"inner":{"x":0}}', 'absent fields are zero values')
  t.equal(goMarshal(goValue(type, { p: 0, ps: [], pi: {}, u: 3, m: { b: '2', a: '1' }, sl: [], any: { z: [1], a: null } })),
    '{"s":"","n":0,"u":3,"b":false,"p":0,"ps":[],"sl":[],"m":{"a":"1","b":"2"},"inner":{"x":0},"pi":{},"any":{"a":null,"z":[1]}}',
    'present pointers are written even when empty or zero')
  t.equal(goMarshal(goValue(type, { ignored: 1, n: 18446744073709551615n })), '{"s":"","n":18446744073709551615,"b":false,"sl":null,"inner":{"x":0}}', 'unknown keys are ignored; bigints kept')
  t.throws(() => goValue(type, { n: 'x' }), /\(value\)\.n: must be an integer, not string "x"/)
  t.throws(() => goValue(type, { u: -1 }), /\.u: must be an integer 0 or more/)
  t.throws(() => goValue(type, { n: 1.5 }), /must be an integer/)
  t.throws(() => goValue(type, { sl: 'a' }), /\.sl: must be a list/)
  t.throws(() => goValue(type, { sl: ['a', 2] }, 'cfg'), /cfg\.sl\[1\]: must be a string, not number 2/)
  t.throws(() => goValue(type, { inner: [] }), /\.inner: must be an object, not a list/)
  t.throws(() => goValue('any', { f: () => 1 }), /cannot be written as JSON/)
})
