/**
 * Training lengths and points in training, written "2000it" (iterations = optimizer updates) or
 * "10ep" (epochs). An epoch is ceil(train size / batch) iterations; the conversion needs the
 * dataset and batch, so a Step stays symbolic until `toIterations` is given both.
 */

/** A point in training as the user wrote it. */
export interface Step {
  readonly value: number;
  readonly unit: 'it' | 'ep';
}

const STEP_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(it|ep)\s*$/;

/** Parses "2000it", "10ep" (or a bare non-negative integer, read as iterations). */
export function parseStep(text: string | number, field = 'step'): Step {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0) {
      throw new Error(
        `${field}: ${text} is not a step; write a non-negative whole number of iterations such as "2000it", ` +
          `or epochs such as "10ep"`,
      );
    }
    return { value: text, unit: 'it' };
  }
  const match = STEP_PATTERN.exec(text);
  if (!match) {
    if (/^\s*\d+\s*$/.test(text)) return { value: Number(text), unit: 'it' };
    throw new Error(`${field}: "${text}" is not a step; write iterations such as "2000it" or epochs such as "10ep"`);
  }
  const value = Number(match[1]);
  const unit = match[2] as 'it' | 'ep';
  if (unit === 'it' && !Number.isInteger(value)) {
    throw new Error(`${field}: "${text}" is a fractional number of iterations; iterations are whole optimizer updates`);
  }
  return { value, unit };
}

/** The step as a whole number of iterations (fractional epochs round to the nearest iteration). */
export function toIterations(step: Step | string | number, itersPerEpoch: number): number {
  const s = typeof step === 'object' ? step : parseStep(step);
  return s.unit === 'it' ? s.value : Math.round(s.value * itersPerEpoch);
}

/** Canonical text of a step: "2000it", "10ep". */
export function formatStep(step: Step): string {
  return `${step.value}${step.unit}`;
}
