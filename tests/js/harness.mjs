// Integration harness for the AWS SDK for JavaScript v3: starts a real
// `kyoka serve` on a free port with its own data directory and hands out
// configured clients. The SDK packages are re-exported from here because
// ES modules resolve bare imports next to the importing file, and the
// node_modules folder lives beside this file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export * as sqs from '@aws-sdk/client-sqs';
export * as sts from '@aws-sdk/client-sts';
export * as iam from '@aws-sdk/client-iam';

const KYOKA_BIN = process.env.KYOKA_BIN || new URL('../../build/kyoka', import.meta.url).pathname;

export const creds = { accessKeyId: 'test', secretAccessKey: 'test' };

export class Kyoka {
  constructor({ ephemeral = true, args = [] } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'kyoka-js-'));
    this.ephemeral = ephemeral;
    this.args = args;
  }

  async start() {
    const portFile = join(this.dir, 'port');
    const args = ['serve', '--port', '0', '--port-file', portFile, ...this.args];
    if (this.ephemeral) args.push('--ephemeral');
    else args.push('--data-dir', join(this.dir, 'state'));
    const log = openSync(join(this.dir, 'server.log'), 'a');
    this.proc = spawn(KYOKA_BIN, args, { stdio: ['ignore', log, log] });
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (existsSync(portFile)) {
        const txt = readFileSync(portFile, 'utf8').trim();
        if (txt) { this.port = Number(txt); break; }
      }
      if (this.proc.exitCode !== null) throw new Error('kyoka exited: ' + this.log());
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!this.port) throw new Error('kyoka did not start: ' + this.log());
    const res = await fetch(this.endpoint + '/_kyoka/health');
    if (res.status !== 200) throw new Error('kyoka not healthy');
    return this;
  }

  log() {
    try { return readFileSync(join(this.dir, 'server.log'), 'utf8').slice(-4000); } catch { return ''; }
  }

  get endpoint() { return `http://127.0.0.1:${this.port}`; }

  config(extra = {}) {
    return { endpoint: this.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1, ...extra };
  }

  async reset() { return fetch(this.endpoint + '/_kyoka/reset', { method: 'POST' }); }

  async advance(seconds) {
    return fetch(`${this.endpoint}/_kyoka/clock/advance?seconds=${seconds}`, { method: 'POST' });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.proc?.exitCode;
    const done = new Promise((r) => this.proc.on('exit', (code) => r(code)));
    this.proc.kill('SIGTERM');
    const code = await done;
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }
}
