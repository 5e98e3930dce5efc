/** Processes of the reliability suite: API and worker processes to kill, their children, decompression bombs. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { crc32, deflateRawSync, gzipSync, constants as zlib } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ServiceConfig } from '../../src/config.js';
import { FIXTURES, dataDirOf } from '../service/helpers.js';

/** The environment that points a process at the test's Redis prefix and data dir. */
export function serviceEnv(config: ServiceConfig, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATA_DIR: dataDirOf(config),
    SCRATCH_DIR: config.scratchDir,
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    LOG_LEVEL: 'warn',
    JOB_BACKOFF_MS: '200',
    WORKER_LOCK_MS: '1500',
    WORKER_STALLED_CHECK_MS: '500',
    WORKER_SHUTDOWN_GRACE_MS: '1000',
    ...env,
  };
}

/** A worker process running the fake pipeline; resolves once it takes jobs. */
export async function spawnWorker(config: ServiceConfig, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('worker-main.ts', FIXTURES))], {
    env: serviceEnv(config, { FAKE_EPOCH_MS: '100', ...env }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const chunk of child.stdout!) {
    output += String(chunk);
    if (output.includes('ready')) return child;
  }
  throw new Error(`worker exited before it was ready: ${output}`);
}

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  /** Everything it logged on stdout so far. */
  log(): string;
}

/** An API process (src/cli serve, through tsx); resolves once it listens. */
export async function spawnApi(config: ServiceConfig, env: Record<string, string> = {}): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('api-main.ts', FIXTURES))], {
    env: serviceEnv(config, { PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      const match = /^ready (\S+)$/m.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`API exited before it listened: ${err}`)));
  });
  return { child, url, log: () => out };
}

/** The pids of a process's children whose command line matches `pattern`. */
export function childPids(pid: number, pattern: RegExp = /./): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && pattern.test(line))
    .map((line) => Number(line.split(/\s+/)[0]));
}

/** Kills a process and waits for it to be gone. */
export async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `probe` returns a value other than undefined, checking every `everyMs`, at most `rounds` times. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, { rounds = 600, everyMs = 50 } = {}): Promise<T> {
  for (let round = 0; round < rounds; round++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

const MiB = 1024 ** 2;

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write(`${'0'.repeat(11)}\0`, 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/**
 * A .tar.gz holding `matrix.mtx` of `bytes` zeros, made of concatenated gzip members (each 1 MiB of zeros), so
 * building a 1 GiB bomb costs a few KB of compression.
 */
export function tarGzBomb(bytes = 1024 * MiB): Buffer {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const members = [gzipSync(tarHeader('matrix.mtx', bytes)), ...Array.from({ length: bytes / MiB }, () => zeros), gzipSync(Buffer.alloc(1024))];
  return Buffer.concat(members);
}

/** A .zip holding `matrix.mtx` of `bytes` zeros: one deflate block sequence, fully flushed, repeated. */
export function zipBomb(bytes = 1024 * MiB): Buffer {
  const block = deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.Z_FULL_FLUSH });
  const data = Buffer.concat([...Array.from({ length: bytes / MiB }, () => block), Buffer.from([0x03, 0x00])]);
  let crc = 0;
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < bytes / MiB; i++) crc = crc32(zeros, crc);
  const name = Buffer.from('matrix.mtx');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(bytes >>> 0, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(bytes >>> 0, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}
