export * from './paths.js'
export * from './atomic.js'
export * from './lock.js'
export * from './store.js'
