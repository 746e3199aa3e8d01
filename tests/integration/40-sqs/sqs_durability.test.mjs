// SQS durability through the AWS SDK for JavaScript v3 (JSON 1.0): kyoka
// acknowledges a send or a delete only once it is on disk, so kill -9 under
// load loses no acknowledged message and resurrects no deleted one, and after
// the restart in-flight messages come back when their visibility timeout
// ends on the server clock. test_sqs_durability.py checks the same over the
// query protocol.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kyoka, sqs } from '../../js/harness.mjs';

const kyoka = new Kyoka({ ephemeral: false });
after(async () => { assert.equal(await kyoka.stop(), 0); });

// Clients never retry: a request cut by the kill fails instead of being
// sent again.
const client = () => new sqs.SQSClient(kyoka.config());

// SIGKILL, then start again on the same data directory (a new port).
async function restart() {
  const exited = new Promise((r) => kyoka.proc.once('exit', r));
  kyoka.proc.kill('SIGKILL');
  await exited;
  rmSync(join(kyoka.dir, 'port'), { force: true });
  kyoka.port = undefined;
  await kyoka.start();
}

async function drain(c, QueueUrl) {
  const out = [];
  for (let empty = 0; empty < 2;) {
    const msgs = (await c.send(new sqs.ReceiveMessageCommand({
      QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300,
    }))).Messages ?? [];
    if (!msgs.length) empty++;
    else { empty = 0; out.push(...msgs); }
  }
  return out;
}

test('kill -9 under send load loses no acknowledged message', async () => {
  await kyoka.start();
  let c = client();
  const { QueueUrl } = await c.send(new sqs.CreateQueueCommand({ QueueName: 'load' }));
  const acked = [];
  let stop = false;
  const sender = async (n) => {
    const mine = client();
    for (let i = 0; !stop; i++) {
      const body = `t${n}-${i}`;
      try {
        if (i % 3 === 0) {
          const r = await mine.send(new sqs.SendMessageBatchCommand({
            QueueUrl, Entries: Array.from({ length: 5 }, (_, k) => ({ Id: `e${k}`, MessageBody: `${body}-b${k}` })),
          }));
          for (const e of r.Successful) acked.push(`${body}-b${e.Id.slice(1)}`);
        } else {
          await mine.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: body }));
          acked.push(body);
        }
      } catch {
        return; // the server was killed mid-request
      }
    }
  };
  const senders = Array.from({ length: 6 }, (_, n) => sender(n));
  await new Promise((r) => setTimeout(r, 1500));
  const restarted = restart();
  stop = true;
  await Promise.all(senders);
  await restarted;
  assert.ok(acked.length > 100, `only ${acked.length} messages were acknowledged`);
  c = client();
  const url = (await c.send(new sqs.GetQueueUrlCommand({ QueueName: 'load' }))).QueueUrl;
  const got = (await drain(c, url)).map((m) => m.Body);
  const seen = new Set(got);
  assert.deepEqual(acked.filter((b) => !seen.has(b)), [], 'acknowledged messages were lost');
  assert.equal(seen.size, got.length, 'a message came back twice');
});

test('after kill -9, deleted messages stay deleted and in-flight ones return when their visibility timeout ends', async () => {
  let c = client();
  let { QueueUrl } = await c.send(new sqs.CreateQueueCommand({ QueueName: 'work', Attributes: { VisibilityTimeout: '60' } }));
  for (let i = 0; i < 2; i++) {
    await c.send(new sqs.SendMessageBatchCommand({
      QueueUrl, Entries: Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `m${i * 10 + k}` })),
    }));
  }
  const inflight = (await c.send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }))).Messages;
  assert.equal(inflight.length, 10);
  await c.send(new sqs.DeleteMessageBatchCommand({
    QueueUrl, Entries: inflight.slice(0, 5).map((m, k) => ({ Id: `d${k}`, ReceiptHandle: m.ReceiptHandle })),
  }));
  const deleted = new Set(inflight.slice(0, 5).map((m) => m.Body));
  const still = inflight.slice(5).map((m) => m.Body).sort();

  await restart();
  c = client();
  QueueUrl = (await c.send(new sqs.GetQueueUrlCommand({ QueueName: 'work' }))).QueueUrl;
  const a = (await c.send(new sqs.GetQueueAttributesCommand({
    QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }))).Attributes;
  assert.deepEqual(a, { ApproximateNumberOfMessages: '10', ApproximateNumberOfMessagesNotVisible: '5' });
  const visible = (await drain(c, QueueUrl)).map((m) => m.Body);
  assert.equal(visible.length, 10);
  assert.equal((await kyoka.advance(61)).status, 200);
  const back = await drain(c, QueueUrl);
  assert.deepEqual(back.map((m) => m.Body).sort(), still);
  for (const b of [...visible, ...back.map((m) => m.Body)]) assert.ok(!deleted.has(b), `${b} was deleted`);
});
