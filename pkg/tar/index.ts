export * from './pack-dir.js'
export * from './reader.js'
