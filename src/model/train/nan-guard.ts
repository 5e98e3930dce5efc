/** The guard against non-finite losses: roll back to the last good weights and lower the learning rate, a few times at most. */
import type * as tf from '@tensorflow/tfjs';
import { Snapshot, type AdamW } from '../optimizer.js';

export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}

export class NanGuard {
  private lastGood: Snapshot;
  /** Factor on the schedule's rate: 0.1 per rollback. */
  lrScale = 1;
  rollbacks = 0;

  constructor(private readonly variables: () => readonly tf.Variable[], private readonly optimizer: AdamW, private readonly maxRetries: number) {
    this.lastGood = Snapshot.take(variables(), 0);
  }

  /** After a finite epoch: its weights become the ones to return to. */
  checkpoint(): void {
    this.lastGood.dispose();
    this.lastGood = Snapshot.take(this.variables(), this.optimizer.stepCount);
  }

  /** After a non-finite epoch run at rate `lr`: restores the last good weights and cuts the rate, or throws once the cuts are spent. Returns what to log. */
  rollback(epoch: number, lr: number): string {
    this.rollbacks++;
    this.lastGood.restore();
    this.optimizer.stepCount = this.lastGood.stepCount;
    if (this.rollbacks > this.maxRetries) {
      throw new TrainingDivergedError(`training diverged: non-finite loss at epoch ${epoch} after ${this.maxRetries} learning-rate cuts (last rate ${lr})`);
    }
    this.lrScale *= 0.1;
    return `non-finite loss at epoch ${epoch}; rolled back, learning rate x${this.lrScale}`;
  }

  dispose(): void {
    this.lastGood.dispose();
  }
}
