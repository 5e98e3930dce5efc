/**
 * A job's Server-Sent Events read with fetch, since EventSource cannot send the Authorization header (and the key
 * must not go into the URL). Reconnects while the job has not ended.
 */
import { ApiError, ENDED, request, type JobJson } from './api.js';

const RECONNECT_MS = 2_000;

/** Calls `onStatus` with each "status" event until the job ends or `stop()` is called. */
export function followJob(jobId: string, onStatus: (job: JobJson) => void, onError: (error: unknown) => void): () => void {
  const controller = new AbortController();
  let ended = false;

  const dispatch = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== 'status' || data.length === 0) return;
    const job = JSON.parse(data.join('\n')) as JobJson;
    ended = ENDED.includes(job.state);
    onStatus(job);
  };

  (async () => {
    while (!ended && !controller.signal.aborted) {
      try {
        const response = await request(`/jobs/${encodeURIComponent(jobId)}/events`, { signal: controller.signal });
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let split: number;
          while ((split = buffer.indexOf('\n\n')) >= 0) {
            dispatch(buffer.slice(0, split));
            buffer = buffer.slice(split + 2);
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        onError(error);
        // A job that is gone, or a key that is no longer valid, will not come back by retrying.
        if (error instanceof ApiError && (error.status === 404 || error.status === 401)) return;
      }
      if (!ended) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
  return () => controller.abort();
}
