/** Where the page is: the URL's #fragment (#/datasets, #/jobs/<id>, ...), so a reload shows the same page. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'datasets' }
  | { page: 'analyse'; datasetId: string }
  | { page: 'jobs' }
  | { page: 'job'; jobId: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'datasets' && parts[1] && parts[2] === 'analyse') return { page: 'analyse', datasetId: parts[1] };
  if (parts[0] === 'jobs' && parts[1]) return { page: 'job', jobId: parts[1] };
  if (parts[0] === 'jobs') return { page: 'jobs' };
  return { page: 'datasets' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'datasets':
      return '#/datasets';
    case 'analyse':
      return `#/datasets/${encodeURIComponent(route.datasetId)}/analyse`;
    case 'jobs':
      return '#/jobs';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.jobId)}`;
  }
}

export function go(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
