/** Learning-rate schedules over a fixed number of epochs, and the named ones the product offers. */

export type Schedule =
  /** `rates` in equal steps over the epochs (the thesis' staircase); a step takes the extra epoch when they do not divide. */
  | { readonly kind: 'staircase'; readonly rates: readonly number[] }
  | { readonly kind: 'constant'; readonly rate: number }
  | { readonly kind: 'warmup'; readonly rate: number; readonly warmupEpochs: number };

/** The schema's `schedule` values. */
export const SCHEDULE_NAMES = ['step_decay', 'staircase', 'constant', 'warmup'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** Factors of the step decay: the full rate, then 0.3 once the components are placed (a constant rate keeps moving between partitions). */
export const STEP_DECAY = [1, 0.3] as const;

/** The thesis' staircase, at its peak rate of 1e-3. */
export const THESIS_RATES = [1e-5, 1e-4, 1e-3, 1e-3, 1e-3, 1e-4, 1e-5] as const;

/** A named schedule peaking at `rate`: the step decay, the thesis' staircase scaled, constant, or a warm-up over a tenth of the epochs. */
export function namedSchedule(name: ScheduleName, rate: number, epochs: number): Schedule {
  switch (name) {
    case 'step_decay':
      return { kind: 'staircase', rates: STEP_DECAY.map((f) => f * rate) };
    case 'staircase':
      return { kind: 'staircase', rates: THESIS_RATES.map((r) => (r * rate) / 1e-3) };
    case 'constant':
      return { kind: 'constant', rate };
    case 'warmup':
      return { kind: 'warmup', rate, warmupEpochs: Math.max(1, Math.round(epochs / 10)) };
  }
}

export function learningRate(s: Schedule, epoch: number, epochs: number): number {
  switch (s.kind) {
    case 'staircase':
      return s.rates[Math.min(s.rates.length - 1, Math.floor((epoch * s.rates.length) / epochs))]!;
    case 'constant':
      return s.rate;
    case 'warmup':
      return epoch < s.warmupEpochs ? (s.rate * (epoch + 1)) / s.warmupEpochs : s.rate;
  }
}
