export * from './accel.js'
export * from './qemu-args.js'
export * from './detect.js'
export * from './qemu.js'
