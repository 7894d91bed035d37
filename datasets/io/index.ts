export {
  decodeImage,
  encodePng,
  imageSize,
  isImageFile,
  readImage,
  readImageFloat,
  readImageRegion,
  toFloat,
  toUint8,
  writePng,
  IMAGE_EXTENSIONS,
} from './image.ts';
export type { Frame, FrameF32, FrameU8 } from './image.ts';
export { writeFileAtomic } from '../../src/atomic-write.ts';
export { readVideoFrames, writeVideo, probeVideo, ffmpegVersion, FfmpegMissingError } from './video.ts';
export type { VideoInfo, VideoWriteOptions } from './video.ts';
export { readFrames, listFrameFiles } from './frames.ts';
export { compareNames } from './names.ts';
