export * from './pack-dir.js'
