/**
 * How many units a command computed and found, each unit counted
 * once (a level is found again as the next level's parent).
 */
import type { UnitEvent } from '../experiments';

/** What a command reports about its units: computed now (with the trainings that took), or found in the store. */
export interface UnitCounts {
  computed: number;
  fromStore: number;
  trainings: number;
}

/** A counter fed with every unit event of a command. */
export function unitCounter(): { see(event: UnitEvent): void; counts(): UnitCounts } {
  const found = new Set<string>();
  const computed = new Set<string>();
  let trainings = 0;
  return {
    see: (event) => {
      if (event.type === 'hit') found.add(event.hash);
      if (event.type === 'done') computed.add(event.hash);
      if (event.type === 'train') trainings++;
    },
    counts: () => ({
      computed: computed.size,
      fromStore: [...found].filter((h) => !computed.has(h)).length,
      trainings,
    }),
  };
}
