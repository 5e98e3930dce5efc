/** One job: its state and live progress (Server-Sent Events), cancel, the error of a failed job, and its results. */
import { useEffect, useState } from 'preact/hooks';
import { ENDED, explain, getJson, sendJson, type DatasetJson, type JobJson } from '../api.js';
import { followJob } from '../events.js';
import { Facts } from '../facts.js';
import { duration, number, when } from '../format.js';
import { Results } from '../results/results.js';
import { StateBadge } from './jobs.js';

function Progress({ job }: { job: JobJson }) {
  const progress = job.progress;
  if (!progress) return <p class="muted">{job.state === 'QUEUED' ? 'Waiting for a worker…' : 'Starting…'}</p>;
  return (
    <div class="progress" data-testid="progress">
      <progress max={1} value={progress.overall} /> <strong>{Math.round(progress.overall * 100)} %</strong>
      <p>
        <span class="stage">{progress.stage}</span>: {progress.message}
        {progress.epoch !== undefined && !progress.message.includes('epoch') && <> · epoch {progress.epoch}</>}
        {progress.loss !== undefined && <> · loss {number(progress.loss)}</>}
        {progress.eta_seconds !== undefined && !ENDED.includes(job.state) && <> · about {duration(progress.eta_seconds)} left</>}
      </p>
    </div>
  );
}

export function Job({ jobId }: { jobId: string }) {
  const [job, setJob] = useState<JobJson | null>(null);
  const [dataset, setDataset] = useState<DatasetJson | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [streamIssue, setStreamIssue] = useState<string | null>(null);
  const [cancelIssue, setCancelIssue] = useState<string | null>(null);

  useEffect(() => {
    let stop: (() => void) | undefined;
    let live = true;
    setJob(null);
    setFailure(null);
    getJson<JobJson>(`/jobs/${encodeURIComponent(jobId)}`).then(
      (first) => {
        if (!live) return;
        setJob(first);
        getJson<DatasetJson>(`/datasets/${encodeURIComponent(first.dataset_id)}`).then((d) => live && setDataset(d), () => undefined);
        if (!ENDED.includes(first.state)) {
          stop = followJob(
            jobId,
            (next) => {
              setJob(next);
              setStreamIssue(null);
            },
            (error) => setStreamIssue(explain(error)),
          );
        }
      },
      (error: unknown) => live && setFailure(explain(error)),
    );
    return () => {
      live = false;
      stop?.();
    };
  }, [jobId]);

  if (failure) {
    return (
      <main>
        <h2>Job</h2>
        <p class="error" role="alert" data-testid="job-failure">
          {failure}
        </p>
      </main>
    );
  }
  if (!job) return <main><p class="muted">Loading the job…</p></main>;

  const cancel = async () => {
    setCancelIssue(null);
    try {
      setJob((await sendJson<JobJson>('POST', `/jobs/${encodeURIComponent(job.id)}/cancel`))!);
    } catch (error) {
      setCancelIssue(explain(error));
    }
  };
  const ended = ENDED.includes(job.state);

  return (
    <main>
      <h2>
        Analysis of <span class="filename">{dataset?.filename ?? 'a dataset'}</span> <StateBadge state={job.state} />
      </h2>
      <p class="muted">
        job {job.id} · submitted {when(job.created_at)} · started {when(job.started_at)} · finished {when(job.finished_at)} · attempt {job.attempts.made} of {job.attempts.max}
      </p>
      {!ended && <Progress job={job} />}
      {streamIssue && !ended && <p class="error">Live updates interrupted ({streamIssue}); retrying…</p>}
      {job.error && (
        <div class="error-box" role="alert" data-testid="job-error">
          <h3>{job.state === 'EXECUTOR_ERROR' ? 'The analysis stopped because of its input' : 'The analysis failed'}</h3>
          <p>{job.error.message}</p>
          <p class="muted">{job.state === 'EXECUTOR_ERROR' ? 'Fix what the message says (the file or the parameters) and start a new analysis.' : `${job.error.kind}; it was tried ${job.attempts.made} times. Tell whoever runs the service if it keeps happening.`}</p>
        </div>
      )}
      {!ended && (
        <button type="button" class="danger" onClick={cancel} disabled={job.state === 'CANCELING'}>
          {job.state === 'CANCELING' ? 'Canceling…' : 'Cancel'}
        </button>
      )}
      {cancelIssue && <p class="error">{cancelIssue}</p>}
      <details>
        <summary>Parameters</summary>
        <Facts rows={Object.entries(job.params).map(([key, value]) => [<code>{key}</code>, value === null ? 'none' : Array.isArray(value) ? value.join(', ') : String(value)])} />
      </details>
      {job.state === 'COMPLETE' && <Results job={job} />}
    </main>
  );
}
