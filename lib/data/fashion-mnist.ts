/**
 * Fashion-MNIST (Xiao et al. 2017), 60,000/10,000 28x28 grayscale images of 10 clothing classes,
 * in IDX form: from `<dataDir>/fashion-mnist`, else from Debian's `dataset-fashion-mnist`
 * package, which installs the four gzipped IDX files under LeCun's names in
 * /usr/share/datasets/fashion-mnist.
 */
import { datasetFolderPresent, DatasetMissingError } from './missing';
import * as path from 'node:path';
import type { Dataset } from './types';
import type { Normalization } from './in-memory';
import { readIdxDataset } from './idx-folder';
import { settingOrDefault } from '../settings';

/** Mean and std of the Fashion-MNIST training pixels. */
export const FASHION_MNIST_NORMALIZATION: Normalization = { mean: [0.286], std: [0.353] };

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The system folders Fashion-MNIST is read from after `<dataDir>/fashion-mnist`: Debian's, unless LMC_SYSTEM_DATA is
 * off.
 */
export function fashionMnistSystemDirs(): string[] {
  return settingOrDefault('systemData') === 'on' ? [DEBIAN_FASHION_MNIST_DIR] : [];
}

/** Fashion-MNIST from the first folder that exists: `<dataDir>/fashion-mnist`, then `systemDirs`. */
export function loadFashionMnist(dataDir: string, systemDirs: readonly string[] = fashionMnistSystemDirs()): Dataset {
  const tried = [path.join(dataDir, 'fashion-mnist'), ...systemDirs];
  const dir = tried.find((d) => datasetFolderPresent('fashion-mnist', d));
  if (!dir) {
    throw new DatasetMissingError(
      'fashion-mnist',
      tried,
      `fashion-mnist: dataset not found; tried ${tried.join(', ')}. ` +
        `Install it with \`apt-get install dataset-fashion-mnist\` (Debian/Ubuntu), or put the four IDX files ` +
        `(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ` +
        `t10k-labels-idx1-ubyte.gz ` +
        `from https://github.com/zalandoresearch/fashion-mnist) in ${tried[0]} ($LMC_DATA_DIR/fashion-mnist).` +
        (settingOrDefault('systemData') === 'off'
          ? ` LMC_SYSTEM_DATA is off, so ${DEBIAN_FASHION_MNIST_DIR} was not looked at.`
          : ''),
    );
  }
  return readIdxDataset(dir, {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST',
    numClasses: 10,
    normalization: FASHION_MNIST_NORMALIZATION,
  });
}
