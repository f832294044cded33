import t from 'tap'
import { UserError } from '../errors/index.js'
import {
  baseUrlFor, checkImageName, composeCmdline, parseListen, parseRange, renderIndex, renderIpxeScript, routeRequest,
  type ServedImage,
} from './ipxe.js'

const a: ServedImage = { name: 'minimal', kernel: '/o/minimal-kernel', initrd: '/o/minimal-initrd.img', cmdline: '/o/minimal-cmdline' }
const b: ServedImage = { name: 'other', kernel: '/o/other-kernel', initrd: '/o/other-initrd.img', cmdline: undefined }

t.test('the iPXE script loads the kernel with initrd= and the initrd under that name, then boots', async (t) => {
  t.equal(renderIpxeScript(a, 'console=ttyS0 quiet', 'http://10.0.2.2:8080'), [
    '#!ipxe',
    '# keel serve: minimal',
    'echo keel: booting minimal from http://10.0.2.2:8080/minimal',
    'kernel http://10.0.2.2:8080/minimal/kernel initrd=initrd.img console=ttyS0 quiet',
    'initrd --name initrd.img http://10.0.2.2:8080/minimal/initrd.img',
    'boot',
    '',
  ].join('\n'))
  t.match(renderIpxeScript(b, '', 'http://h'), /^kernel http:\/\/h\/other\/kernel initrd=initrd.img$/m, 'an empty command line adds nothing after initrd=')
})

t.test('the command line: the file, then --cmdline-append, whitespace folded', async (t) => {
  t.equal(composeCmdline('console=ttyS0\n', ''), 'console=ttyS0')
  t.equal(composeCmdline('console=ttyS0  quiet\n\n', ' ip=dhcp  '), 'console=ttyS0 quiet ip=dhcp')
  t.equal(composeCmdline('', 'a=1'), 'a=1')
  t.equal(composeCmdline('', ''), '')
  t.throws(() => composeCmdline('x=${net0/ip}', ''), UserError, 'iPXE setting expansion is refused')
})

t.test('routes: only the fixed names, compared without decoding or normalising', async (t) => {
  const images = [a, b]
  t.same(routeRequest('/', images), { kind: 'index' })
  t.same(routeRequest('/ipxe', images), { kind: 'script', image: a }, '/ipxe is the first image')
  t.same(routeRequest('/ipxe?mac=52:54:00:12:34:56', images), { kind: 'script', image: a }, 'a query string is ignored')
  t.same(routeRequest('/other/ipxe', images), { kind: 'script', image: b })
  t.same(routeRequest('/minimal/kernel', images), { kind: 'file', image: a, file: 'kernel', path: '/o/minimal-kernel' })
  t.same(routeRequest('/other/initrd.img', images), { kind: 'file', image: b, file: 'initrd.img', path: '/o/other-initrd.img' })
  for (const bad of [
    '/../etc/passwd', '/%2e%2e/etc/passwd', '/minimal/../minimal/kernel', '/minimal/./kernel', '//minimal/kernel',
    '/minimal/kernel/', '/minimal/cmdline', '/minimal/sbom.spdx.json', '/minimal', '/nope/kernel', '/minimal/initrd-img',
    '/minimal%2fkernel', '/MINIMAL/kernel', 'http://x/minimal/kernel', '', '*', '/ipxe/',
  ]) {
    t.same(routeRequest(bad, images), { kind: 'not-found' }, `${JSON.stringify(bad)} is not found`)
  }
  t.same(routeRequest('/ipxe', []), { kind: 'not-found' }, 'no images: no default script')
})

t.test('image names are safe in URLs and do not shadow /ipxe', async (t) => {
  t.equal(checkImageName('minimal'), undefined)
  t.equal(checkImageName('a.b_c-1'), undefined)
  for (const bad of ['', '.', '..', '.hidden', 'a/b', 'a b', 'a%2f', 'ipxe', '-x']) t.type(checkImageName(bad), 'string', `${JSON.stringify(bad)} is refused`)
})

t.test('the base URL follows the Host header the machine sent, else the local address', async (t) => {
  const local = { address: '127.0.0.1', port: 8080 }
  t.equal(baseUrlFor('10.0.2.2:8080', local), 'http://10.0.2.2:8080')
  t.equal(baseUrlFor('boot.example', local), 'http://boot.example')
  t.equal(baseUrlFor('[fd00::1]:80', local), 'http://[fd00::1]:80')
  t.equal(baseUrlFor(undefined, local), 'http://127.0.0.1:8080')
  t.equal(baseUrlFor('evil\nboot', local), 'http://127.0.0.1:8080', 'a Host header that could break the script is not used')
  t.equal(baseUrlFor('a b', local), 'http://127.0.0.1:8080')
  t.equal(baseUrlFor(undefined, { address: '::ffff:192.168.1.5', port: 80 }), 'http://192.168.1.5:80', 'a v4-mapped address is written as IPv4')
  t.equal(baseUrlFor(undefined, { address: '::1', port: 80 }), 'http://[::1]:80')
})

t.test('--listen: ADDR:PORT, [IPv6]:PORT or PORT alone on loopback', async (t) => {
  t.same(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 })
  t.same(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 })
  t.same(parseListen('[::]:8080'), { host: '::', port: 8080 })
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 })
  t.same(parseListen('9000'), { host: '127.0.0.1', port: 9000 })
  for (const bad of ['', ':', '127.0.0.1', '127.0.0.1:', '127.0.0.1:70000', '::1:80', 'a b:80', '127.0.0.1:8o', '[::1]']) {
    t.throws(() => parseListen(bad), { message: /is not ADDR:PORT/ }, `${JSON.stringify(bad)} is refused`)
  }
})

t.test('Range headers: one byte range, suffixes, open ends; the rest ignored or 416', async (t) => {
  t.equal(parseRange(undefined, 100), undefined)
  t.same(parseRange('bytes=0-9', 100), { start: 0, end: 9 })
  t.same(parseRange('bytes=90-', 100), { start: 90, end: 99 })
  t.same(parseRange('bytes=90-1000', 100), { start: 90, end: 99 }, 'an end past the file is clipped')
  t.same(parseRange('bytes=-10', 100), { start: 90, end: 99 }, 'a suffix is the last N bytes')
  t.same(parseRange('bytes=-1000', 100), { start: 0, end: 99 })
  t.equal(parseRange('bytes=100-', 100), 'unsatisfiable', 'a start at the end is 416')
  t.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
  t.equal(parseRange('bytes=0-', 0), 'unsatisfiable', 'nothing to give from an empty file')
  t.equal(parseRange('bytes=5-1', 100), undefined, 'an inverted range is ignored')
  t.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'several ranges: the whole file')
  t.equal(parseRange('items=0-1', 100), undefined)
  t.equal(parseRange('bytes=-', 100), undefined)
})

t.test('the index lists every image and its URLs, the first as the default', async (t) => {
  const text = renderIndex([a, b], 'http://h:1')
  t.match(text, 'chain http://h:1/ipxe')
  t.match(text, 'minimal (default, also /ipxe)\n  http://h:1/minimal/ipxe\n  http://h:1/minimal/kernel\n  http://h:1/minimal/initrd.img\n')
  t.match(text, 'other\n  http://h:1/other/ipxe')
})
