export * from './types.js'
export * from './yaml.js'
export * from './parse.js'
