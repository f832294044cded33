// keel serve: kernel+initrd images and generated iPXE scripts over HTTP, for
// machines that boot from the network (docs/serve.md).
export * from './ipxe.js'
export * from './server.js'
