/** Adam with decoupled weight decay (AdamW) on dense kernels, with snapshot/restore for the NaN guard. */
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay: number;
}

export class AdamW {
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  private readonly params: tf.Variable[];
  private readonly decayed: Set<tf.Variable>;

  /** `decayed` lists the variables that weight decay applies to (kernels, not biases or norms). */
  constructor(params: readonly tf.Variable[], decayed: ReadonlySet<tf.Variable>, private readonly options: AdamWOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.params = [];
    this.decayed = new Set();
    this.add(params, decayed);
  }

  private add(params: readonly tf.Variable[], decayed: ReadonlySet<tf.Variable>): void {
    const zerosLike = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zeros(p.shape), false));
    for (const p of params) {
      this.params.push(p);
      if (decayed.has(p)) this.decayed.add(p);
      this.m.set(p, zerosLike(p));
      this.v.set(p, zerosLike(p));
    }
  }

  /** Drops `removed` (and their moments) and starts `added` from zero moments, when a layer is rebuilt. */
  replace(removed: readonly tf.Variable[], added: readonly tf.Variable[], decayed: ReadonlySet<tf.Variable>): void {
    for (const p of removed) {
      tf.dispose([this.m.get(p)!, this.v.get(p)!]);
      this.m.delete(p);
      this.v.delete(p);
      this.decayed.delete(p);
      this.params.splice(this.params.indexOf(p), 1);
    }
    this.add(added, decayed);
  }

  /** Apply gradients keyed by variable name. */
  step(grads: tf.NamedTensorMap, lr: number): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads[p.name];
        if (!g) continue;
        const m = this.m.get(p)!;
        const v = this.v.get(p)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
        if (this.decayed.has(p) && this.options.weightDecay > 0) update = tf.add(update, tf.mul(p, this.options.weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
  }

  /** Forget the moment estimates of `variables` (after they are re-initialised, old moments would mis-scale their steps). */
  resetState(variables: readonly tf.Variable[]): void {
    tf.tidy(() => {
      for (const p of variables) {
        this.m.get(p)?.assign(tf.zerosLike(p));
        this.v.get(p)?.assign(tf.zerosLike(p));
      }
    });
  }

  /** The optimizer's own state variables and step count (for snapshots). */
  stateVariables(): tf.Variable[] {
    return [...this.m.values(), ...this.v.values()];
  }
  get stepCount(): number {
    return this.t;
  }
  set stepCount(t: number) {
    this.t = t;
  }

  dispose(): void {
    tf.dispose(this.stateVariables());
  }
}

/** Copies of variables' values, restorable later. */
export class Snapshot {
  private constructor(private readonly values: Map<tf.Variable, tf.Tensor>, readonly stepCount: number) {}

  static take(variables: readonly tf.Variable[], stepCount: number): Snapshot {
    return new Snapshot(new Map(variables.map((v) => [v, tf.clone(v)])), stepCount);
  }

  restore(): void {
    for (const [v, value] of this.values) v.assign(value);
  }

  dispose(): void {
    tf.dispose([...this.values.values()]);
  }
}
