// Kinesis Data Streams through the AWS SDK for JavaScript v3 (JSON 1.1,
// X-Amz-Target: Kinesis_20131202.*): a stream's life, puts and reads with
// the SDK's Uint8Array blobs and Date timestamps, the modelled error
// classes with AWS's messages, iterator expiry on the server clock, and
// kill -9 durability of acknowledged records.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kyoka } from '../../js/harness.mjs';

// The SDK lives in tests/js/node_modules: resolve it from there.
const require = createRequire(new URL('../../js/harness.mjs', import.meta.url));
const kinesis = require('@aws-sdk/client-kinesis');
// The SDK's Kinesis client defaults to HTTP/2 (for SubscribeToShard's event
// stream); kyoka speaks HTTP/1.1, so clients pass the HTTP/1.1 handler, as
// they must for any HTTP/1.1 endpoint.
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const h1 = () => ({ requestHandler: new NodeHttpHandler() });

const kyoka = new Kyoka();
let client;
before(async () => {
  await kyoka.start();
  client = new kinesis.KinesisClient(kyoka.config(h1()));
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
beforeEach(async () => { assert.equal((await kyoka.reset()).status, 200); });

const ACCOUNT = '000000000000';
const send = (cmd) => client.send(cmd);
const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

async function active(name) {
  for (let i = 0; i < 100; i++) {
    const r = await send(new kinesis.DescribeStreamSummaryCommand({ StreamName: name }));
    if (r.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${name} never became ACTIVE`);
}

async function rejects(promise, name, message) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (message instanceof RegExp) assert.match(e.message, message);
    else if (message) assert.equal(e.message, message);
    return true;
  });
}

test('create, put, get across shards', async () => {
  await send(new kinesis.CreateStreamCommand({ StreamName: 'js', ShardCount: 2 }));
  await active('js');
  const put = await send(new kinesis.PutRecordsCommand({
    StreamName: 'js',
    Records: Array.from({ length: 20 }, (_, i) => ({ Data: enc(`r${i}`), PartitionKey: `k${i}` })),
  }));
  assert.equal(put.FailedRecordCount, 0);
  const { Shards } = await send(new kinesis.ListShardsCommand({ StreamName: 'js' }));
  assert.equal(Shards.length, 2);
  let seen = [];
  for (const s of Shards) {
    const { ShardIterator } = await send(new kinesis.GetShardIteratorCommand({
      StreamName: 'js', ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON',
    }));
    const r = await send(new kinesis.GetRecordsCommand({ ShardIterator }));
    assert.equal(r.MillisBehindLatest, 0);
    assert.ok(r.NextShardIterator);
    for (const rec of r.Records) {
      assert.ok(rec.ApproximateArrivalTimestamp instanceof Date);
      assert.equal(rec.SequenceNumber.length, 56);
      seen.push(dec(rec.Data));
    }
  }
  assert.deepEqual(seen.sort(), Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
  const one = await send(new kinesis.PutRecordCommand({ StreamName: 'js', Data: enc('x'), PartitionKey: 'p' }));
  const { ShardIterator } = await send(new kinesis.GetShardIteratorCommand({
    StreamName: 'js', ShardId: one.ShardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER',
    StartingSequenceNumber: one.SequenceNumber,
  }));
  const r = await send(new kinesis.GetRecordsCommand({ ShardIterator }));
  assert.equal(dec(r.Records[0].Data), 'x');
});

test('errors are the SDK\'s modelled classes with AWS\'s messages', async () => {
  await rejects(send(new kinesis.DescribeStreamCommand({ StreamName: 'missing' })),
    'ResourceNotFoundException', `Stream missing under account ${ACCOUNT} not found.`);
  await send(new kinesis.CreateStreamCommand({ StreamName: 'dup', ShardCount: 1 }));
  await rejects(send(new kinesis.CreateStreamCommand({ StreamName: 'dup', ShardCount: 1 })),
    'ResourceInUseException', `Stream dup under account ${ACCOUNT} already exists.`);
  await active('dup');
  await rejects(send(new kinesis.GetRecordsCommand({ ShardIterator: 'not-an-iterator' })),
    'InvalidArgumentException', 'Invalid ShardIterator.');
  const { ShardIterator } = await send(new kinesis.GetShardIteratorCommand({
    StreamName: 'dup', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST',
  }));
  await kyoka.advance(301);
  await rejects(send(new kinesis.GetRecordsCommand({ ShardIterator })), 'ExpiredIteratorException',
    /^Iterator expired\. .* tolerated delay of 300000 milliseconds\.$/);
});

test('AT_TIMESTAMP takes a Date', async () => {
  await send(new kinesis.CreateStreamCommand({ StreamName: 'ts', ShardCount: 1 }));
  await active('ts');
  await send(new kinesis.PutRecordCommand({ StreamName: 'ts', Data: enc('early'), PartitionKey: 'p' }));
  await kyoka.advance(60);
  const at = new Date(Date.now() + 59000);
  await send(new kinesis.PutRecordCommand({ StreamName: 'ts', Data: enc('late'), PartitionKey: 'p' }));
  const { ShardIterator } = await send(new kinesis.GetShardIteratorCommand({
    StreamName: 'ts', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: at,
  }));
  const r = await send(new kinesis.GetRecordsCommand({ ShardIterator }));
  assert.deepEqual(r.Records.map((x) => dec(x.Data)), ['late']);
});

test('acknowledged records survive kill -9', async () => {
  const srv = await new Kyoka({ ephemeral: false }).start();
  try {
    const c = new kinesis.KinesisClient(srv.config(h1()));
    await c.send(new kinesis.CreateStreamCommand({ StreamName: 'd', ShardCount: 1 }));
    for (let i = 0; i < 100; i++) {
      const s = await c.send(new kinesis.DescribeStreamSummaryCommand({ StreamName: 'd' }));
      if (s.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const acked = [];
    await Promise.all(Array.from({ length: 10 }, async (_, b) => {
      const r = await c.send(new kinesis.PutRecordsCommand({
        StreamName: 'd',
        Records: Array.from({ length: 30 }, (_, i) => ({ Data: enc(`${b}/${i}`), PartitionKey: `p${i}` })),
      }));
      for (const x of r.Records) acked.push(x.SequenceNumber);
    }));
    srv.proc.kill('SIGKILL');
    await new Promise((res) => srv.proc.once('exit', res));
    rmSync(join(srv.dir, 'port'), { force: true }); // the harness waits for a fresh one
    srv.port = undefined;
    await srv.start();
    const c2 = new kinesis.KinesisClient(srv.config(h1()));
    let { ShardIterator } = await c2.send(new kinesis.GetShardIteratorCommand({
      StreamName: 'd', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON',
    }));
    const got = [];
    for (;;) {
      const r = await c2.send(new kinesis.GetRecordsCommand({ ShardIterator, Limit: 100 }));
      if (!r.Records.length) break;
      for (const x of r.Records) got.push(x.SequenceNumber);
      ShardIterator = r.NextShardIterator;
    }
    assert.deepEqual(got.sort(), acked.sort());
  } finally {
    await srv.stop();
  }
});
