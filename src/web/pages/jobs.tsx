/** Your jobs, newest first, refreshed while any of them has not ended. */
import { useEffect, useState } from 'preact/hooks';
import { ENDED, explain, getJson, type DatasetJson, type JobJson } from '../api.js';
import { when } from '../format.js';
import { href } from '../route.js';

const REFRESH_MS = 3_000;

export function StateBadge({ state }: { state: JobJson['state'] }) {
  return <span class={`state state-${state.toLowerCase()}`}>{state}</span>;
}

export function Jobs() {
  const [jobs, setJobs] = useState<JobJson[] | null>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const refresh = async () => {
      try {
        const [list, datasets] = await Promise.all([getJson<{ jobs: JobJson[] }>('/jobs?limit=100'), getJson<{ datasets: DatasetJson[] }>('/datasets?limit=200')]);
        if (!live) return;
        setJobs(list.jobs);
        setNames(new Map(datasets.datasets.map((d) => [d.id, d.filename])));
        setFailure(null);
        if (list.jobs.some((job) => !ENDED.includes(job.state))) timer = setTimeout(refresh, REFRESH_MS);
      } catch (error) {
        if (!live) return;
        setFailure(explain(error));
        timer = setTimeout(refresh, REFRESH_MS);
      }
    };
    refresh();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);

  return (
    <main>
      <h2>Jobs</h2>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      {jobs && jobs.length === 0 && <p class="muted">No jobs yet: open a dataset and start a new analysis.</p>}
      {jobs && jobs.length > 0 && (
        <table class="jobs">
          <thead>
            <tr>
              <th>submitted</th>
              <th>dataset</th>
              <th>state</th>
              <th>progress</th>
              <th>finished</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id} data-testid="job-row">
                <td>
                  <a href={href({ page: 'job', jobId: job.id })}>{when(job.created_at)}</a>
                </td>
                <td class="filename">{names.get(job.dataset_id) ?? '(deleted dataset)'}</td>
                <td>
                  <StateBadge state={job.state} />
                </td>
                <td>{job.state === 'RUNNING' && job.progress ? `${Math.round(job.progress.overall * 100)} % (${job.progress.stage})` : job.error ? job.error.message : ''}</td>
                <td>{when(job.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
