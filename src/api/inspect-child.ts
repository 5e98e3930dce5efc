/** Child-process body of inspectDataset (see inspect.ts): reads the file named in argv and sends the summary. */
import { InputError } from '../errors.js';
import { inspectDataset } from '../io/index.js';

try {
  process.send!({ ok: true, summary: await inspectDataset(process.argv[2]!) });
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  process.send!({ ok: false, name: error.name, message: error.message, input: err instanceof InputError });
}
process.disconnect();
