// Boot tests: case folders built, booted under QEMU and judged by their
// console (docs/testing.md).
export * from './cases.js'
export * from './expect.js'
export * from './scan.js'
export * from './report.js'
export * from './boot.js'
export * from './runner.js'
