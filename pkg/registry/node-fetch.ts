// A `fetch` over node:http and node:https whose response body is the Node
// stream itself (`nodeBody`), not a web stream: reading a large blob through
// undici's web streams costs a good share of a pull's time. Only what the
// transport uses is supported: method, headers, body (bytes, string, a Node
// or web stream), signal; redirects are never followed (the transport follows
// them itself, deciding where credentials may go).
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
}

/** A Response whose body, when it has one, is `nodeBody` (its `body` is null). */
export type NodeResponse = Response & { nodeBody?: IncomingMessage }

export function nodeBodyOf(res: Response): IncomingMessage | undefined {
  return (res as NodeResponse).nodeBody
}

export const nodeFetch: typeof fetch = (input, init = {}) => new Promise<Response>((resolve, reject) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  const secure = url.protocol === 'https:'
  if (!secure && url.protocol !== 'http:') {
    reject(new TypeError(`unsupported protocol ${url.protocol}`))
    return
  }
  const headers: Record<string, string> = {}
  new Headers(init.headers).forEach((value, key) => { headers[key] = value })
  const options: http.RequestOptions = {
    method: init.method ?? 'GET',
    headers,
    agent: secure ? agents.https : agents.http,
    ...(init.signal ? { signal: init.signal } : {}),
  }
  const req = (secure ? https : http).request(url, options, (res) => {
    const h = new Headers()
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) h.append(k, x)
      else if (v !== undefined) h.set(k, v)
    }
    let response: Response
    try {
      response = new Response(null, { status: res.statusCode ?? 500, statusText: res.statusMessage ?? '', headers: h })
    } catch (err) {
      res.destroy()
      reject(err)
      return
    }
    Object.defineProperty(response, 'nodeBody', { value: res, enumerable: false })
    resolve(response)
  })
  req.on('error', reject)
  const body = init.body
  if (body === undefined || body === null) {
    req.end()
  } else if (typeof body === 'string' || body instanceof Uint8Array) {
    req.end(body)
  } else if (body instanceof ArrayBuffer) {
    req.end(Buffer.from(body))
  } else if (body instanceof Readable) {
    pipeline(body, req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))))
  } else if (body instanceof ReadableStream) {
    pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))))
  } else {
    req.destroy()
    reject(new TypeError('unsupported request body'))
  }
})
