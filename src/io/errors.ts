import { InputError } from '../errors.js';

/** Why a dataset could not be read; `code` is stable so the API and CLI can map it. */
export type DatasetErrorCode =
  | 'not_found'
  | 'unknown_format'
  | 'truncated'
  | 'unsupported_layout'
  | 'unsupported_filter'
  | 'missing_element'
  | 'invalid_value'
  | 'inconsistent_shape'
  | 'ambiguous_choice'
  | 'unsafe_archive'
  | 'too_large'
  | 'empty';

/** A problem with the input data: the message names it and the remedy. */
export class DatasetError extends InputError {
  override readonly name = 'DatasetError';
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
  ) {
    super(message);
  }
}
