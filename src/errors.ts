/**
 * A problem with what the user gave (a file, a parameter, a column), never with the machine:
 * shells map it to exit code 2, HTTP 4xx and a job state of EXECUTOR_ERROR without retry.
 */
export class InputError extends Error {
  override readonly name: string = 'InputError';
}

/** `text` with each server path replaced by what it stands for (a file name, "the dataset"): users never see our paths. */
export function redactPaths(text: string, names: Readonly<Record<string, string>>): string {
  return Object.entries(names).reduce((out, [path, name]) => out.replaceAll(path, name), text);
}
