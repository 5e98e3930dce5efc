import { InputError } from '../errors.js';

/** A parameter or an input that preprocessing cannot use: the message says what the data look like and what to pass instead. */
export class PreprocessError extends InputError {
  override readonly name = 'PreprocessError';
}
