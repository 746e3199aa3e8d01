// The peer for the Lambda bench: npm lambda-local runs a node handler
// in-process (no Runtime API, no sandbox, no HTTP), so this is the floor a
// process-per-function design is compared against. Prints cold (first
// call) and warm calls per second for the same handler kyoka's node
// function runs.
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), 'peers', 'package.json'));
const lambdaLocal = require('lambda-local');
lambdaLocal.setLogger({ log() {}, info() {}, warn() {}, error() {}, transports: [] });
const seconds = Number(process.argv[2] || 5);
const dir = mkdtempSync(join(tmpdir(), 'kyoka-ll-'));
const file = join(dir, 'index.js');
writeFileSync(file, 'exports.handler = async (event) => event;\n');
const opts = { event: { bench: true }, lambdaPath: file, lambdaHandler: 'handler', timeoutMs: 3000, verboseLevel: 0 };

let t = process.hrtime.bigint();
await lambdaLocal.execute(opts);
const coldMs = Number(process.hrtime.bigint() - t) / 1e6;
const lat = [];
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  t = process.hrtime.bigint();
  await lambdaLocal.execute(opts);
  lat.push(Number(process.hrtime.bigint() - t) / 1e3);
}
lat.sort((a, b) => a - b);
console.log(`cold ${coldMs.toFixed(1)} ms; warm, 1 caller: rate=${Math.round(lat.length / seconds)}/s ` +
  `p50=${Math.round(lat[lat.length >> 1])}us p99=${Math.round(lat[Math.floor(lat.length * 0.99)])}us`);
