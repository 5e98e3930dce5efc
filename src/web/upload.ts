/** Dataset uploads through XMLHttpRequest, the one browser API that reports upload progress. */
import { authHeaders, ApiError, type DatasetJson } from './api.js';

export interface UploadProgress {
  loaded: number;
  total: number;
  /** Bytes per second over the upload so far. */
  rate: number;
}

export function uploadDataset(file: File, onProgress: (progress: UploadProgress) => void): { done: Promise<DatasetJson>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const started = performance.now();
  const done = new Promise<DatasetJson>((resolve, reject) => {
    xhr.open('POST', '/v1/datasets');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      const seconds = (performance.now() - started) / 1000;
      onProgress({ loaded: event.loaded, total: event.total || file.size, rate: seconds > 0 ? event.loaded / seconds : 0 });
    };
    xhr.onload = () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText) as Record<string, unknown>;
      } catch {
        // described below
      }
      if (xhr.status === 201) resolve(body as unknown as DatasetJson);
      else
        reject(
          new ApiError({
            status: xhr.status,
            title: typeof body.title === 'string' ? body.title : xhr.statusText,
            detail: typeof body.detail === 'string' ? body.detail : `HTTP ${xhr.status}`,
          }),
        );
    };
    xhr.onerror = () => reject(new ApiError({ status: 0, title: 'Unreachable', detail: 'the upload was interrupted' }));
    xhr.onabort = () => reject(new DOMException('upload canceled', 'AbortError'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
