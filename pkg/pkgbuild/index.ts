export * from './spec.js'
export * from './hash.js'
export * from './build.js'
export * from './lock.js'
