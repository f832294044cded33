import type { Readable } from 'node:stream'
import type { Digest } from './digest.js'
import type { Descriptor, ImageConfig } from './image.js'

/** One layer of an image: its descriptor and a way to read its (still compressed) bytes. */
export interface LayerSource {
  descriptor: Descriptor
  open(): Readable
}

/**
 * What assembly needs of an image: its config and its layers in order.
 * The store provides these; tests can feed in-memory images.
 */
export interface ImageSource {
  /** The normalised reference the image was asked for by. */
  ref: string
  /** Digest of the image manifest. */
  digest: Digest
  config: ImageConfig
  layers: LayerSource[]
  /** The manifest and config as stored, when the source has them (to copy the image whole). */
  manifestBytes?: Buffer
  configBytes?: Buffer
}
