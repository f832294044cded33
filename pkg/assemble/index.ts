export * from './oci-config.js'
export * from './image-files.js'
export * from './assemble.js'
export * from './tar-stream.js'
