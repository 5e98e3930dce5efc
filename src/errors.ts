/**
 * A problem with what the user gave (a file, a parameter, a column), never with the machine:
 * shells map it to exit code 2, HTTP 4xx and a job state of EXECUTOR_ERROR without retry.
 */
export class InputError extends Error {
  override readonly name: string = 'InputError';
}
