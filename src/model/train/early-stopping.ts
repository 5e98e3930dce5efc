/** Early stopping on the validation loss, keeping the weights of the best epoch. */
import type * as tf from '@tensorflow/tfjs';
import { Snapshot, type AdamW } from '../optimizer.js';

export class EarlyStopping {
  private best: { snapshot: Snapshot; epoch: number; loss: number } | null = null;
  private sinceBest = 0;

  constructor(
    private readonly variables: () => readonly tf.Variable[],
    private readonly optimizer: AdamW,
    private readonly patience: number,
    private readonly minDelta: number,
  ) {}

  /** Forgets the best epoch (losses from before a placement are not comparable). */
  reset(): void {
    this.best?.snapshot.dispose();
    this.best = null;
    this.sinceBest = 0;
  }

  /** After epoch `epoch` with validation loss `loss`: true when `patience` epochs have passed without an improvement of more than minDelta. */
  observe(epoch: number, loss: number): boolean {
    if (!Number.isFinite(loss)) return false;
    if (!this.best || loss < this.best.loss - this.minDelta) {
      this.best?.snapshot.dispose();
      this.best = { snapshot: Snapshot.take(this.variables(), this.optimizer.stepCount), epoch, loss };
      this.sinceBest = 0;
      return false;
    }
    return this.patience > 0 && ++this.sinceBest >= this.patience;
  }

  /** The best epoch, whose weights restoreBest() puts back; null when no validation loss was seen. */
  get bestEpoch(): number | null {
    return this.best?.epoch ?? null;
  }

  restoreBest(): void {
    this.best?.snapshot.restore();
  }

  dispose(): void {
    this.best?.snapshot.dispose();
  }
}
