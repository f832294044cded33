export * from './tree.js'
export * from './flatten.js'
