/**
 * Differentiable log-gamma and digamma from elementary tfjs ops (tfjs has neither): shift the argument
 * up by SHIFT with the recurrence, then use the asymptotic (Stirling / de Moivre) series, whose
 * truncation error at x >= SHIFT is below float32 precision. Valid for x > 0.
 */
import * as tf from '@tensorflow/tfjs';

const SHIFT = 6;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Σ_{i<SHIFT} f(x+i) and the shifted argument x + SHIFT. */
function shifted(x: tf.Tensor, f: (xi: tf.Tensor) => tf.Tensor): { sum: tf.Tensor; y: tf.Tensor } {
  let sum = f(x);
  for (let i = 1; i < SHIFT; i++) sum = tf.add(sum, f(tf.add(x, i)));
  return { sum, y: tf.add(x, SHIFT) };
}

/** ln Γ(x) for x > 0. */
export function lgamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { sum, y } = shifted(x, tf.log);
    const inv = tf.reciprocal(y);
    const inv2 = tf.square(inv);
    // 1/(12y) - 1/(360y^3) + 1/(1260y^5) - 1/(1680y^7), Horner in 1/y^2.
    const series = tf.mul(inv, tf.add(1 / 12, tf.mul(inv2, tf.add(-1 / 360, tf.mul(inv2, tf.add(1 / 1260, tf.mul(inv2, -1 / 1680)))))));
    const stirling = tf.add(tf.sub(tf.mul(tf.sub(y, 0.5), tf.log(y)), y), tf.add(series, HALF_LOG_2PI));
    return tf.sub(stirling, sum);
  });
}

/** ψ(x) = d/dx ln Γ(x) for x > 0. */
export function digamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { sum, y } = shifted(x, tf.reciprocal);
    const inv = tf.reciprocal(y);
    const inv2 = tf.square(inv);
    // ln y - 1/(2y) - 1/(12y^2) + 1/(120y^4) - 1/(252y^6) + 1/(240y^8)
    const series = tf.mul(inv2, tf.add(-1 / 12, tf.mul(inv2, tf.add(1 / 120, tf.mul(inv2, tf.add(-1 / 252, tf.mul(inv2, 1 / 240)))))));
    return tf.sub(tf.add(tf.sub(tf.log(y), tf.mul(inv, 0.5)), series), sum);
  });
}

/** ln Γ(x) of a JS number (x > 0), same recurrence and series in double precision. */
export function lgammaNumber(x: number): number {
  let shiftSum = 0;
  let y = x;
  for (; y < SHIFT + x; y++) shiftSum += Math.log(y);
  const inv2 = 1 / (y * y);
  const series = (1 / y) * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 - inv2 / 1680)));
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_2PI + series - shiftSum;
}
