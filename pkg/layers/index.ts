export * from './tree.js'
export * from './flatten.js'
export * from './content.js'
