// The pure parts of `keel serve`: the iPXE script for an image, the URL
// layout, the --listen address and HTTP Range headers. No I/O here, so every
// rule is unit-tested without a socket.
import { UserError } from '../errors/index.js'

/** The files of one served image; names in URLs are fixed, paths are the user's. */
export interface ServedImage {
  /** The name in URLs: /NAME/ipxe, /NAME/kernel, /NAME/initrd.img. */
  name: string
  kernel: string
  initrd: string
  /** PREFIX-cmdline, when there is one. */
  cmdline: string | undefined
}

/** What a request path names: a script, a file of an image, the index, or nothing. */
export type Route =
  | { kind: 'index' }
  | { kind: 'script'; image: ServedImage }
  | { kind: 'file'; image: ServedImage; file: 'kernel' | 'initrd.img'; path: string }
  | { kind: 'not-found' }

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** Checks an image name for use in URLs; returns a problem, or undefined. */
export function checkImageName(name: string): string | undefined {
  if (!namePattern.test(name)) return `image name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-', starting with a letter or digit`
  if (name === 'ipxe') return 'image name "ipxe" is taken by the default script URL /ipxe'
  return undefined
}

/**
 * The route for a request path, compared byte for byte with the fixed names:
 * nothing is decoded or normalised, so "/../x", "/%2e%2e/x" or "//x" can
 * only ever be "not found". The query string is ignored.
 */
export function routeRequest(rawUrl: string, images: readonly ServedImage[]): Route {
  const path = rawUrl.split('?', 1)[0]!
  if (path === '/') return { kind: 'index' }
  if (path === '/ipxe' && images[0]) return { kind: 'script', image: images[0] }
  const m = /^\/([^/]+)\/(ipxe|kernel|initrd\.img)$/.exec(path)
  const image = m ? images.find((i) => i.name === m[1]) : undefined
  if (!m || !image) return { kind: 'not-found' }
  if (m[2] === 'ipxe') return { kind: 'script', image }
  if (m[2] === 'kernel') return { kind: 'file', image, file: 'kernel', path: image.kernel }
  return { kind: 'file', image, file: 'initrd.img', path: image.initrd }
}

/**
 * The kernel command line as served: PREFIX-cmdline's text with
 * --cmdline-append after it, whitespace (newlines too) folded to single
 * spaces. iPXE expands "${...}" in script lines, so that is refused rather
 * than handed to it to rewrite.
 */
export function composeCmdline(fileText: string, append: string): string {
  const cmdline = `${fileText} ${append}`.replace(/\s+/g, ' ').trim()
  if (cmdline.includes('${')) throw new UserError(`kernel command line ${JSON.stringify(cmdline)} contains "\${", which iPXE would expand as a setting`)
  return cmdline
}

/**
 * The iPXE script for an image. `baseUrl` is where the machine reached this
 * server (http://HOST:PORT, no trailing slash).
 *
 * The initrd is loaded under the fixed name "initrd.img" and the kernel gets
 * "initrd=initrd.img": under UEFI, iPXE hands the kernel's EFI stub its
 * downloaded files as a small file system and the stub finds the initrd by
 * that name (kernels before 5.7 need it; newer ones also take it through
 * LoadFile2). Under BIOS the kernel ignores the parameter.
 */
export function renderIpxeScript(image: { name: string }, cmdline: string, baseUrl: string): string {
  const base = `${baseUrl}/${image.name}`
  return [
    '#!ipxe',
    `# keel serve: ${image.name}`,
    `echo keel: booting ${image.name} from ${base}`,
    `kernel ${base}/kernel initrd=initrd.img${cmdline ? ` ${cmdline}` : ''}`,
    `initrd --name initrd.img ${base}/initrd.img`,
    'boot',
    '',
  ].join('\n')
}

/** The plain-text page at "/": each image and its URLs. */
export function renderIndex(images: readonly ServedImage[], baseUrl: string): string {
  const lines = ['keel serve: chain-load one of these scripts from iPXE, e.g.', `  chain ${baseUrl}/ipxe`, '']
  images.forEach((image, i) => {
    lines.push(`${image.name}${i === 0 ? ' (default, also /ipxe)' : ''}`)
    for (const f of ['ipxe', 'kernel', 'initrd.img']) lines.push(`  ${baseUrl}/${image.name}/${f}`)
  })
  return `${lines.join('\n')}\n`
}

/**
 * http://HOST[:PORT] as the machine addressed this server (its Host header),
 * so scripts work through NAT and port forwards; a missing or odd Host header
 * falls back to the address the connection arrived on.
 */
export function baseUrlFor(hostHeader: string | undefined, local: { address: string; port: number }): string {
  if (hostHeader && /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/.test(hostHeader)) return `http://${hostHeader}`
  const address = local.address.replace(/^::ffff:(?=[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$)/, '')
  return `http://${address.includes(':') ? `[${address}]` : address}:${local.port}`
}

export interface ListenAddress {
  host: string
  port: number
}

/**
 * --listen: "ADDR:PORT", "[IPv6]:PORT", or "PORT" alone (on 127.0.0.1).
 * Port 0 asks the system for a free port.
 */
export function parseListen(value: string): ListenAddress {
  const m = /^\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})$/.exec(value)
    ?? /^([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value)
    ?? /^()([0-9]{1,5})$/.exec(value)
  const port = Number(m?.[2])
  if (!m || port > 65535) {
    throw new UserError(`--listen ${JSON.stringify(value)} is not ADDR:PORT`, { hint: 'e.g. --listen 127.0.0.1:8080, --listen 0.0.0.0:8080 or --listen [::]:8080' })
  }
  return { host: m[1] || '127.0.0.1', port }
}

export type ByteRange = { start: number; end: number }

/**
 * A Range header against a file of `size` bytes: undefined means serve the
 * whole file (no header, a unit other than bytes, or several ranges, which
 * HTTP lets a server ignore); 'unsatisfiable' means 416. `end` is inclusive.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const m = /^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$/i.exec(header)
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const n = Number(m[2])
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size) return 'unsatisfiable'
  if (end < start) return undefined // invalid: ignore the header
  return { start, end }
}
