import type { Redis } from 'ioredis';
import type { ServiceConfig, StorageConfig } from '../config.js';
import { redisKeys } from '../queue/index.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import { Storage } from './storage.js';
import type { ObjectStore } from './types.js';

export * from './types.js';
export { objectKeys } from './keys.js';
export { Storage } from './storage.js';

/** The object store STORAGE_URL names, checked (folder created, bucket reachable) before use. */
export function createObjectStore(config: StorageConfig): Promise<ObjectStore> {
  return config.kind === 'file' ? new LocalObjectStore(config.root).init() : new S3ObjectStore(config).init();
}

export async function createStorage(config: ServiceConfig, redis: Redis): Promise<Storage> {
  return new Storage(await createObjectStore(config.storage), redis, redisKeys(config.redisPrefix), config.scratchDir);
}
