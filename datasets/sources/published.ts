/**
 * The published shape of each benchmark (see datasets/README.md for sources). `checkDataset` compares a
 * tree against these; tests pass their own expectations for tiny fake trees.
 */

export interface SplitCounts {
  sequences: number;
  pairs: number;
}

export interface PublishedCounts {
  train: SplitCounts;
  test: SplitCounts;
  /** Published frame size; frames of another size are problems when `sizeIsStrict`, else notes. */
  width: number;
  height: number;
  sizeIsStrict: boolean;
}

/** GoPro (Nah et al., CVPR 2017): 22 train sequences / 2,103 pairs, 11 test / 1,111, 1280x720 PNG. */
export const GOPRO_PUBLISHED: PublishedCounts = {
  train: { sequences: 22, pairs: 2103 },
  test: { sequences: 11, pairs: 1111 },
  width: 1280,
  height: 720,
  sizeIsStrict: true,
};

export const GOPRO_TEST_SEQUENCES: readonly string[] = [
  'GOPR0384_11_00',
  'GOPR0384_11_05',
  'GOPR0385_11_01',
  'GOPR0396_11_00',
  'GOPR0410_11_00',
  'GOPR0854_11_00',
  'GOPR0862_11_00',
  'GOPR0868_11_00',
  'GOPR0869_11_00',
  'GOPR0871_11_00',
  'GOPR0881_11_01',
];

/**
 * DVD (Su et al., CVPR 2017): 71 videos, 61 train / 5,708 pairs, 10 test / 1,000. Frame size is nominally
 * 1280x720 but is not guaranteed for every video, so other sizes are notes, not problems.
 */
export const DVD_PUBLISHED: PublishedCounts = {
  train: { sequences: 61, pairs: 5708 },
  test: { sequences: 10, pairs: 1000 },
  width: 1280,
  height: 720,
  sizeIsStrict: false,
};

/** The test videos named by the dataset's authors (shuochsu/DeepVideoDeblurring issue #2), used by the literature. */
export const DVD_TEST_SEQUENCES: readonly string[] = [
  '720p_240fps_2',
  'IMG_0003',
  'IMG_0021',
  'IMG_0030',
  'IMG_0031',
  'IMG_0032',
  'IMG_0033',
  'IMG_0037',
  'IMG_0039',
  'IMG_0049',
];
