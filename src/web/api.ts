/**
 * The page's client of the public /v1 API: every call sends the key as a Bearer header, and every failure becomes
 * an ApiError carrying the RFC 9457 problem the API answered, which `explain` turns into words.
 */
import { storedKey } from './session.js';

export interface Problem {
  status: number;
  title: string;
  detail: string;
  problems?: string[];
  request_id?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
  get status(): number {
    return this.problem.status;
  }
}

/** Status 0: the request never got an answer. */
const UNREACHABLE: Problem = { status: 0, title: 'Unreachable', detail: 'the service did not answer' };

export function authHeaders(key = storedKey()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** The problem in a failed response (or a plain description when the body is not problem+json). */
export async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body.detail === 'string') return { status: response.status, title: body.title ?? response.statusText, detail: body.detail, problems: body.problems, request_id: body.request_id };
  } catch {
    // not JSON: described below
  }
  return { status: response.status, title: response.statusText || 'Error', detail: text.slice(0, 300) || `HTTP ${response.status}` };
}

/** fetch under /v1 with the key; resolves to the response when it is OK, else throws ApiError. */
export async function request(path: string, init: RequestInit = {}, key?: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`/v1${path}`, { ...init, headers: { ...authHeaders(key), ...(init.headers as Record<string, string> | undefined) } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(UNREACHABLE);
  }
  if (!response.ok) {
    // The stored key stopped working (revoked, or Redis lost the users): the page signs out and says so.
    if (response.status === 401 && key === undefined) dispatchEvent(new Event(KEY_REFUSED));
    throw new ApiError(await problemOf(response));
  }
  return response;
}

/** The event `request` sends when the API refuses the stored key. */
export const KEY_REFUSED = 'scgmdvae:key-refused';

export async function getJson<T>(path: string, key?: string): Promise<T> {
  return (await (await request(path, {}, key)).json()) as T;
}

export async function sendJson<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T | undefined> {
  const response = await request(path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status === 204 ? undefined : ((await response.json()) as T);
}

export async function getBytes(path: string): Promise<ArrayBuffer> {
  return (await request(path)).arrayBuffer();
}

/** What went wrong, in words a person can act on. */
export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${(error as Error)?.message ?? String(error)}`;
  const { status, detail } = error.problem;
  if (status === 0) return 'The service cannot be reached. Is it running, and is this the right address?';
  if (status === 401) return 'This API key is not recognised. Check that you pasted all of it, or ask an administrator for a new one (`users add`).';
  if (status === 503) return 'The service is up but cannot reach its job queue (Redis), so nothing can be done right now. Try again in a minute; if it lasts, tell whoever runs the service.';
  if (status === 404) return /^no (job|dataset) /.test(detail) ? `Not found: ${detail}. It does not exist, or it belongs to another user.` : `Not found: ${detail}.`;
  if (status === 413) return `The file is too large: ${detail}.`;
  if (status === 429) return `Too many submissions: ${detail}. Wait a minute and try again.`;
  return `${error.problem.title}: ${detail}`;
}

export interface DatasetJson {
  id: string;
  owner: string;
  filename: string;
  bytes: number;
  sha256: string;
  created_at: string;
  inspect: {
    format?: string;
    n_obs?: number;
    n_vars?: number;
    nnz?: number;
    matrix?: string;
    values?: string;
    obs_columns?: string[];
    var_columns?: string[];
    genomes?: string[];
    feature_types?: Record<string, number>;
    renamed_genes?: number;
  };
}

export type JobState = 'QUEUED' | 'INITIALIZING' | 'RUNNING' | 'COMPLETE' | 'EXECUTOR_ERROR' | 'SYSTEM_ERROR' | 'CANCELING' | 'CANCELED';

export const ENDED: readonly JobState[] = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

export interface JobJson {
  id: string;
  dataset_id: string;
  owner: string;
  state: JobState;
  params: Record<string, unknown>;
  progress: { stage: string; fraction: number; overall: number; message: string; epoch?: number; loss?: number; eta_seconds?: number; updated_at: string } | null;
  attempts: { made: number; max: number };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: { kind: string; message: string } | null;
  links: { self: string; results?: Record<string, string> };
}
