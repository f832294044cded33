// A free TCP port on 127.0.0.1 for a test to listen on or publish to: keel's
// own (pkg/run/free-port.ts), which keel test uses for published ports.
export { freePort } from '../../pkg/run/index.js'
