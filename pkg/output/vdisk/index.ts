// Reproducible virtual-disk containers for a raw disk image: fixed and
// dynamic VHD, dynamic VHDX, monolithicSparse VMDK. keel writes them itself
// because qemu-img puts the time and random IDs in: here the same raw bytes
// and options give the same output bytes. Timestamps (VHD only; VHDX and VMDK
// have none) come from `epoch`; every ID is derived from the image's content,
// a per-field label and the optional `seed` (ids.ts).
//
// Each writer reads the raw image at `raw` sequentially, one chunk in memory
// at a time (1 MiB; 2 MiB for dynamic VHD; one block for VHDX), never whole,
// plus its allocation table (about size/16384 bytes at most), and creates
// `out` through a temporary file in the same folder renamed into place when
// complete (an existing `out` stays as it was on failure). Zero runs inside
// the output are left as holes, so outputs are sparse on disk too.
//
// Sizes: VHD pads the disk to a multiple of 1 MiB that its CHS geometry
// describes exactly (vhdVirtualSize: Azure needs 1 MiB multiples, Virtual PC
// and QEMU read the size from the geometry); VHDX and VMDK round up to a
// whole 512-byte sector only.
export type { VdiskOptions } from './raw.js'
export { writeFixedVhd, writeDynamicVhd, vhdVirtualSize, vhdGeometry, vhdChecksum, vhdFooter, type Chs } from './vhd.js'
export { writeVhdx, VHDX_DEFAULT_BLOCK_SIZE, type VhdxOptions } from './vhdx.js'
export { writeVmdk, vmdkGeometry, type VmdkOptions, type VmdkAdapterType } from './vmdk.js'
export { crc32c } from './crc32c.js'
export { deriveUuid, uuidString } from './ids.js'
