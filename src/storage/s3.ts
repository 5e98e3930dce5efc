/**
 * The object store in an S3 bucket (STORAGE_URL=s3://bucket/prefix; AWS, MinIO or any S3-compatible store at
 * S3_ENDPOINT). Large writes are multipart uploads, which S3 shows only once complete and aborts when the stream
 * fails, so no reader ever sees a partial object.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageConfig } from '../config.js';
import { checkKey, observed } from './keys.js';
import type { ObjectStore, StoredFile } from './types.js';

type S3Config = Extract<StorageConfig, { kind: 's3' }>;

/** 8 MiB parts, four in flight: the API holds at most ~32 MiB of an upload in memory. */
const PART_BYTES = 8 * 1024 ** 2;
const PARTS_IN_FLIGHT = 4;
const PRESIGN_SECONDS = 900;
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);
}

export class S3ObjectStore implements ObjectStore {
  readonly holdsLocalFiles = false;
  readonly url: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly config: S3Config) {
    this.url = `s3://${config.bucket}/${config.prefix}`;
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials,
      // MinIO and s3rver do not all know the newer default checksums; the SDK then sends them only when required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Fails at start, naming the bucket, when it does not exist or the credentials cannot reach it. */
  async init(): Promise<this> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = (err as S3ServiceException).$metadata?.httpStatusCode;
      throw new Error(`STORAGE_URL: bucket '${this.bucket}' is not reachable${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message || (err as Error).name}`);
    }
    return this;
  }

  private key(key: string): string {
    return this.prefix + checkKey(key);
  }

  async put(key: string, source: Readable | Uint8Array, observe?: (chunk: Buffer) => void | Promise<void>): Promise<number> {
    if (!(source instanceof Readable)) {
      await observe?.(Buffer.from(source));
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: source }));
      return source.byteLength;
    }
    let bytes = 0;
    const body = Readable.from(
      observed((chunk) => {
        bytes += chunk.length;
        return observe?.(chunk);
      })(source),
    );
    // A failing source reaches the upload as a failing body; the upload then aborts its parts (leavePartsOnError false).
    let sourceError: Error | undefined;
    source.once('error', (err) => {
      sourceError = err;
      body.destroy(err);
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(key), Body: body },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // The source's own error says what happened, not the abort's answer (a store may refuse the abort: parts stay unlisted).
      throw sourceError ?? err;
    }
    return bytes;
  }

  async putFile(key: string, path: string): Promise<void> {
    await this.put(key, createReadStream(path));
  }

  async get(key: string, range?: string): Promise<StoredFile | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), Range: range }));
      return { stream: answer.Body as Readable, size: answer.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async getRange(key: string, start: number, length: number): Promise<Uint8Array | undefined> {
    if (length === 0) return (await this.get(key, 'bytes=0-0')) ? new Uint8Array(0) : undefined;
    try {
      const file = await this.get(key, `bytes=${start}-${start + length - 1}`);
      if (!file) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of file.stream) chunks.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    } catch (err) {
      // A range that starts past the end: fewer bytes at the end, here none.
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 416) return new Uint8Array(0);
      throw err;
    }
  }

  async localCopy(key: string, scratchPath: string): Promise<string> {
    const file = await this.get(key);
    if (!file) throw new Error(`no object ${key} in ${this.url}`);
    await mkdir(dirname(scratchPath), { recursive: true });
    await pipeline(file.stream, createWriteStream(scratchPath, { flags: 'wx' }));
    return scratchPath;
  }

  async deletePrefix(prefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token, MaxKeys: DELETE_BATCH }),
      );
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length > 0) await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    const start = this.key(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: start, Delimiter: '/', ContinuationToken: token }));
      for (const common of page.CommonPrefixes ?? []) folders.push(common.Prefix!.slice(start.length).replace(/\/$/, ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return folders;
  }

  /** Nothing to do: S3 keeps no partial object (an unfinished multipart upload is not listed; a bucket lifecycle rule aborts it). */
  async sweepTemp(): Promise<number> {
    return 0;
  }

  async presignedUrl(key: string, download: { contentType: string; filename: string }): Promise<string | undefined> {
    if (!this.config.presign) return undefined;
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key(key),
      ResponseContentType: download.contentType,
      ResponseContentDisposition: `attachment; filename="${download.filename}"`,
    });
    return getSignedUrl(this.client, command, { expiresIn: PRESIGN_SECONDS });
  }
}
