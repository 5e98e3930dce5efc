/** The page: sign-in, then datasets, new analysis, jobs and a job's results, chosen by the URL's #fragment. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { explain, KEY_REFUSED } from './api.js';
import { Datasets, type UploadState } from './pages/datasets.js';
import { Job } from './pages/job.js';
import { Jobs } from './pages/jobs.js';
import { NewAnalysis } from './pages/new-analysis.js';
import { SignIn } from './pages/sign-in.js';
import { go, href, useRoute } from './route.js';
import { forgetKey, storedKey, storeKey } from './session.js';
import { uploadDataset } from './upload.js';

export function App() {
  const [key, setKey] = useState(storedKey());
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [uploaded, setUploaded] = useState(0);
  const nextUpload = useRef(1);

  const patch = (id: number, change: Partial<UploadState>) => setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...change } : u)));

  const startUpload = (file: File) => {
    const id = nextUpload.current++;
    setUploads((all) => [...all, { id, name: file.name, progress: null, inspecting: false, error: null }]);
    const { done } = uploadDataset(file, (progress) => patch(id, { progress, inspecting: progress.loaded >= progress.total }));
    done.then(
      () => {
        setUploads((all) => all.filter((u) => u.id !== id));
        setUploaded((n) => n + 1);
      },
      (error: unknown) => patch(id, { error: explain(error), inspecting: false }),
    );
  };

  // A file dropped anywhere on the page is uploaded, and the datasets page shows its progress.
  useEffect(() => {
    if (!key) return;
    const over = (event: DragEvent) => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
    };
    const drop = (event: DragEvent) => {
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      event.preventDefault();
      files.forEach(startUpload);
      go({ page: 'datasets' });
    };
    addEventListener('dragover', over);
    addEventListener('drop', drop);
    return () => {
      removeEventListener('dragover', over);
      removeEventListener('drop', drop);
    };
  }, [key]);

  const signOut = (why: string | null) => {
    forgetKey();
    setKey(null);
    setUploads([]);
    setNotice(why);
  };

  useEffect(() => {
    const refused = () => signOut('The service no longer accepts this API key. Sign in with a valid one.');
    addEventListener(KEY_REFUSED, refused);
    return () => removeEventListener(KEY_REFUSED, refused);
  }, []);

  if (!key) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => {
          storeKey(signedIn);
          setKey(signedIn);
          setNotice(null);
        }}
      />
    );
  }

  const page = (() => {
    switch (route.page) {
      case 'datasets':
        return <Datasets uploads={uploads} onFile={startUpload} onDismiss={(id) => setUploads((all) => all.filter((u) => u.id !== id))} refresh={uploaded} />;
      case 'analyse':
        return <NewAnalysis key={route.datasetId} datasetId={route.datasetId} />;
      case 'jobs':
        return <Jobs />;
      case 'job':
        return <Job key={route.jobId} jobId={route.jobId} />;
    }
  })();

  return (
    <>
      <header class="top">
        <a class="brand" href={href({ page: 'datasets' })}>
          scgmdvae
        </a>
        <nav>
          <a href={href({ page: 'datasets' })} aria-current={route.page === 'datasets' || route.page === 'analyse' ? 'page' : undefined}>
            Datasets
          </a>
          <a href={href({ page: 'jobs' })} aria-current={route.page === 'jobs' || route.page === 'job' ? 'page' : undefined}>
            Jobs
          </a>
          <a href="/docs">API</a>
        </nav>
        <button type="button" class="link" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      {page}
    </>
  );
}
