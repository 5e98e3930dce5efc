/** Listing cursors: the creation time and id of the last record a page showed, opaque to clients. */
import type { Indexed } from '../storage/storage.js';
import { HttpProblem } from './problem.js';

export function encodeCursor(record: Indexed): string {
  return Buffer.from(JSON.stringify([record.created_at, record.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Indexed {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return { created_at: value[0], id: value[1] };
  } catch {
    // falls through to the 400 below
  }
  throw new HttpProblem(400, 'invalid cursor: pass back the next_cursor of the previous page');
}

/** The querystring of a listing. */
export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  cursor: { type: 'string', description: 'next_cursor from the previous page' },
} as const;
