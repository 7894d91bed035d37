import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/backend/index.ts';
const info = await initBackend({ requested: process.argv[2] });
console.log(JSON.stringify({ ...info, probes: undefined }), tf.getBackend());
const x = tf.randomNormal([4, 64, 64, 64]) as tf.Tensor4D; const w = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
for (let i = 0; i < 5; i++) { const t0 = performance.now(); const y = tf.conv2d(x, w, 1, 'same'); y.dataSync(); y.dispose(); console.log('conv ms', (performance.now() - t0).toFixed(1)); }
