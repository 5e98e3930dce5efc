/** Revival of unused components: one that few cells pick is re-seeded from the most crowded one, as k-means re-seeds an empty cluster. */
import type { Rng } from '../../random.js';
import type { CgmvaeModule } from '../module.js';

/** Components are revived during this fraction of the epochs (through the placement's settling, not the last epochs). */
const REVIVE_UNTIL = 0.8;

/** A component used by less than this share of an even split counts as unused. */
const DEAD_COMPONENT_SHARE = 0.05;

export class ComponentRevival {
  constructor(private readonly enabled: boolean, private readonly epochs: number) {}

  /** After an epoch whose cells picked component k with share `usage[k]`: splits the most used components into the unused ones; returns those re-seeded. */
  afterEpoch(epoch: number, module: CgmvaeModule, usage: readonly number[], rng: Rng): number[] {
    if (!this.enabled || epoch >= this.epochs * REVIVE_UNTIL) return [];
    const k = usage.length;
    const share = usage.slice();
    const dead = share.map((u, i) => (u < DEAD_COMPONENT_SHARE / k ? i : -1)).filter((i) => i >= 0);
    for (const d of dead) {
      const donor = share.indexOf(Math.max(...share));
      module.splitComponent(d, donor, rng);
      share[d] = share[donor] /= 2;
    }
    return dead;
  }
}
