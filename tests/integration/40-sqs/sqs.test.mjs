// SQS through the AWS SDK for JavaScript v3, which speaks the JSON 1.0
// protocol (X-Amz-Target: AmazonSQS.*) and verifies every MD5 digest kyoka
// returns: every operation and rule test_sqs_query.py checks over the query
// protocol, with the SDK's modelled error classes and AWS's messages.
// Time-driven rules move the server clock (kyoka.advance) instead of
// sleeping; only long polling is measured in real time.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Kyoka, sqs, iam } from '../../js/harness.mjs';

const kyoka = new Kyoka();
// Clients keep the SDK's default clock-skew correction from the Date header:
// kyoka sends real time there, so moving the server clock never breaks them.
const config = (extra = {}) => kyoka.config(extra);
let client;
before(async () => {
  await kyoka.start();
  client = new sqs.SQSClient(config());
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
// Every test starts from an empty server with the clock back at real time.
beforeEach(async () => { assert.equal((await kyoka.reset()).status, 200); });

const ACCOUNT = '000000000000';
const send = (cmd) => client.send(cmd);

async function rejects(promise, name, message, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (message !== undefined) assert.equal(e.message, message);
    if (status !== undefined) assert.equal(e.$metadata.httpStatusCode, status);
    return true;
  });
}

test('a client correcting its clock from Date keeps signing after the server clock moves hours ahead', async () => {
  const fresh = new sqs.SQSClient(config());
  await fresh.send(new sqs.ListQueuesCommand({}));
  assert.equal((await kyoka.advance(3 * 3600)).status, 200);
  for (let i = 0; i < 3; i++) {
    const out = await fresh.send(new sqs.CreateQueueCommand({ QueueName: `skew-${i}` }));
    assert.equal(out.$metadata.httpStatusCode, 200);
  }
  const listed = await fresh.send(new sqs.ListQueuesCommand({}));
  assert.equal(listed.QueueUrls.length, 3);
});

test('queues are regional: one name, two regions, two queues', async () => {
  const west = new sqs.SQSClient(config({ region: 'eu-west-1' }));
  const eastUrl = (await send(new sqs.CreateQueueCommand({ QueueName: 'orders' }))).QueueUrl;
  const westUrl = (await west.send(new sqs.CreateQueueCommand({ QueueName: 'orders' }))).QueueUrl;
  const arnOf = async (cl, QueueUrl) => (await cl.send(new sqs.GetQueueAttributesCommand({
    QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes.QueueArn;
  assert.equal(await arnOf(client, eastUrl), `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`);
  assert.equal(await arnOf(west, westUrl), `arn:aws:sqs:eu-west-1:${ACCOUNT}:orders`);
  await west.send(new sqs.SendMessageCommand({ QueueUrl: westUrl, MessageBody: 'west' }));
  const east = await send(new sqs.ReceiveMessageCommand({ QueueUrl: eastUrl }));
  assert.equal(east.Messages, undefined);
  const got = await west.send(new sqs.ReceiveMessageCommand({ QueueUrl: westUrl }));
  assert.deepEqual(got.Messages.map((m) => m.Body), ['west']);
  assert.deepEqual((await west.send(new sqs.ListQueuesCommand({}))).QueueUrls, [westUrl]);
});

test('queues: create, URL, attributes, list, tags, delete', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({
    QueueName: 'js-q', Attributes: { VisibilityTimeout: '45' }, tags: { team: 'js' },
  }));
  assert.equal(QueueUrl, `${kyoka.endpoint.replace('127.0.0.1', 'localhost')}/${ACCOUNT}/js-q`);
  assert.equal((await send(new sqs.GetQueueUrlCommand({ QueueName: 'js-q' }))).QueueUrl, QueueUrl);
  const attrs = (await send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;
  assert.equal(attrs.VisibilityTimeout, '45');
  assert.equal(attrs.QueueArn, `arn:aws:sqs:us-east-1:${ACCOUNT}:js-q`);
  assert.equal(attrs.MaximumMessageSize, '1048576');
  assert.equal(attrs.SqsManagedSseEnabled, 'true');
  assert.deepEqual((await send(new sqs.ListQueuesCommand({ QueueNamePrefix: 'js-' }))).QueueUrls, [QueueUrl]);
  assert.deepEqual((await send(new sqs.ListQueueTagsCommand({ QueueUrl }))).Tags, { team: 'js' });
  await send(new sqs.TagQueueCommand({ QueueUrl, Tags: { env: 'test' } }));
  await send(new sqs.UntagQueueCommand({ QueueUrl, TagKeys: ['team'] }));
  assert.deepEqual((await send(new sqs.ListQueueTagsCommand({ QueueUrl }))).Tags, { env: 'test' });
  await rejects(send(new sqs.CreateQueueCommand({ QueueName: 'js-q', Attributes: { VisibilityTimeout: '46' } })),
    'QueueNameExists',
    'A queue already exists with the same name and a different value for attribute VisibilityTimeout', 400);
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl, Attributes: { DelaySeconds: '901' } })),
    'InvalidAttributeValue', 'Invalid value for the parameter DelaySeconds.');
  await rejects(send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Nope'] })),
    'InvalidAttributeName', 'Unknown Attribute Nope.');
  await send(new sqs.DeleteQueueCommand({ QueueUrl }));
  // The JSON protocol's wording, and the SDK's modelled class.
  await rejects(send(new sqs.GetQueueUrlCommand({ QueueName: 'js-q' })), 'QueueDoesNotExist',
    'The specified queue does not exist.', 400);
  await rejects(send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'x' })), 'QueueDoesNotExist');
  await rejects(send(new sqs.CreateQueueCommand({ QueueName: 'js-q' })), 'QueueDeletedRecently',
    'You must wait 60 seconds after deleting a queue before you can create another with the same name.');
  try {
    await send(new sqs.GetQueueUrlCommand({ QueueName: 'js-q' }));
  } catch (e) {
    assert.ok(e instanceof sqs.QueueDoesNotExist);
  }
});

test('the X-Amzn-Trace-Id header traces every message of a send; the system attribute wins', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'traced' }));
  const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1';
  const traced = new sqs.SQSClient(config());
  traced.middlewareStack.add((next) => async (args) => {
    args.request.headers['x-amzn-trace-id'] = header;
    return next(args);
  }, { step: 'build', name: 'xrayHeader' });
  const one = await traced.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
  assert.equal(one.MD5OfMessageSystemAttributes, undefined);
  await traced.send(new sqs.SendMessageBatchCommand({ QueueUrl, Entries: [
    { Id: 'a', MessageBody: 'two' },
    { Id: 'b', MessageBody: 'three',
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=own' } } }] }));
  const got = await send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10,
    MessageSystemAttributeNames: ['AWSTraceHeader'] }));
  const traces = Object.fromEntries(got.Messages.map((m) => [m.Body, m.Attributes?.AWSTraceHeader]));
  assert.deepEqual(traces, { one: header, two: header, three: 'Root=own' });
});

test('messages: attributes and digests the SDK verifies, receive, visibility, delete', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'js-msgs' }));
  const MessageAttributes = {
    s: { DataType: 'String', StringValue: 'héllo' },
    n: { DataType: 'Number', StringValue: '42.5' },
    b: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
    c: { DataType: 'String.custom', StringValue: 'typed' },
  };
  // The SDK recomputes MD5OfMessageBody and MD5OfMessageAttributes and
  // throws if kyoka's differ.
  const sent = await send(new sqs.SendMessageCommand({
    QueueUrl, MessageBody: 'body ☃', MessageAttributes,
    MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'some-trace-id' } },
  }));
  assert.equal(sent.MD5OfMessageSystemAttributes, 'fdce4f2818803f2f73becc09a54792c0');
  const got = await send(new sqs.ReceiveMessageCommand({
    QueueUrl, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 60,
  }));
  assert.equal(got.Messages.length, 1);
  const m = got.Messages[0];
  assert.equal(m.MessageId, sent.MessageId);
  assert.equal(m.Body, 'body ☃');
  assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  assert.deepEqual([...m.MessageAttributes.b.BinaryValue], [0, 1, 2, 255]);
  assert.equal(m.MessageAttributes.n.StringValue, '42.5');
  assert.equal(m.Attributes.SenderId, ACCOUNT);
  assert.equal(m.Attributes.AWSTraceHeader, 'some-trace-id');
  assert.equal(m.Attributes.ApproximateReceiveCount, '1');
  // Only the selected attributes, with their own digest.
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
  const some = (await send(new sqs.ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['s', 'n'] }))).Messages[0];
  assert.deepEqual(Object.keys(some.MessageAttributes).sort(), ['n', 's']);
  assert.notEqual(some.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  await rejects(send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: 'junk', VisibilityTimeout: 5 })),
    'ReceiptHandleIsInvalid', 'The input receipt handle "junk" is not a valid receipt handle.');
  await send(new sqs.DeleteMessageCommand({ QueueUrl, ReceiptHandle: some.ReceiptHandle }));
  await kyoka.advance(31);
  assert.equal((await send(new sqs.ReceiveMessageCommand({ QueueUrl }))).Messages, undefined);
  await rejects(send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'bad \u0001' })), 'InvalidMessageContents',
    'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | ' +
    '#x10000 to #x10FFFF');
  await rejects(send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })), 'InvalidParameterValue',
    'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.');
  await rejects(send(new sqs.PurgeQueueCommand({ QueueUrl: `${QueueUrl}-missing` })), 'QueueDoesNotExist');
});

test('batches: partial failures, batch errors, and the SDK digest checks per entry', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'js-batch' }));
  const out = await send(new sqs.SendMessageBatchCommand({
    QueueUrl,
    Entries: [
      { Id: 'a', MessageBody: 'one', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
      { Id: 'b', MessageBody: 'two' },
      { Id: 'c', MessageBody: 'bad \u0002' },
    ],
  }));
  assert.deepEqual(out.Successful.map((e) => e.Id).sort(), ['a', 'b']);
  assert.equal(out.Failed.length, 1);
  assert.equal(out.Failed[0].Id, 'c');
  assert.equal(out.Failed[0].Code, 'InvalidMessageContents');
  assert.equal(out.Failed[0].SenderFault, true);
  await rejects(send(new sqs.SendMessageBatchCommand({
    QueueUrl, Entries: [{ Id: 'x', MessageBody: '1' }, { Id: 'x', MessageBody: '2' }],
  })), 'BatchEntryIdsNotDistinct', 'Id x repeated.');
  await rejects(send(new sqs.SendMessageBatchCommand({
    QueueUrl, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'b' })),
  })), 'TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10. You have sent 11.');
  await rejects(send(new sqs.DeleteMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'bad id', ReceiptHandle: 'r' }] })),
    'InvalidBatchEntryId',
    'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 ' +
    'letters long.');
  const msgs = (await send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }))).Messages;
  assert.equal(msgs.length, 2);
  const cv = await send(new sqs.ChangeMessageVisibilityBatchCommand({
    QueueUrl, Entries: [{ Id: 'x', ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 100 }],
  }));
  assert.deepEqual(cv.Successful, [{ Id: 'x' }]);
  assert.deepEqual(cv.Failed, []);
  const del = await send(new sqs.DeleteMessageBatchCommand({
    QueueUrl,
    Entries: [...msgs.map((mm, i) => ({ Id: `d${i}`, ReceiptHandle: mm.ReceiptHandle })),
      { Id: 'junk', ReceiptHandle: 'junk' }],
  }));
  assert.equal(del.Successful.length, 2);
  assert.deepEqual(del.Failed, [{ Id: 'junk', SenderFault: true, Code: 'ReceiptHandleIsInvalid',
    Message: 'The input receipt handle "junk" is not a valid receipt handle.' }]);
});

test('empty batches: EmptyBatchRequest with its query-compatible code, for each batch operation', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'js-empty-batch' }));
  const commands = {
    SendMessageBatchRequestEntry: sqs.SendMessageBatchCommand,
    DeleteMessageBatchRequestEntry: sqs.DeleteMessageBatchCommand,
    ChangeMessageVisibilityBatchRequestEntry: sqs.ChangeMessageVisibilityBatchCommand,
  };
  for (const [entry, Command] of Object.entries(commands)) {
    await assert.rejects(send(new Command({ QueueUrl, Entries: [] })), (e) => {
      assert.ok(e instanceof sqs.EmptyBatchRequest, `${e.name}: ${e.message}`);
      assert.equal(e.name, 'EmptyBatchRequest');
      assert.equal(e.Code, 'AWS.SimpleQueueService.EmptyBatchRequest');
      assert.equal(e.message, `There should be at least one ${entry} in the request.`);
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
  }
});

test('FIFO: group order, dedup, sequence numbers, validation', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({
    QueueName: 'js.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
  }));
  const a = await send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'a1', MessageGroupId: 'a' }));
  await send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'b1', MessageGroupId: 'b' }));
  await send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'a2', MessageGroupId: 'a' }));
  const dup = await send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'a1', MessageGroupId: 'a' }));
  assert.equal(dup.MessageId, a.MessageId);
  assert.equal(dup.SequenceNumber, a.SequenceNumber);
  assert.match(a.SequenceNumber, /^[0-9]{20}$/);
  const first = (await send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }))).Messages;
  assert.deepEqual(first.map((m) => m.Body), ['a1', 'a2', 'b1']);
  await rejects(send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'x' })), 'MissingParameter',
    'The request must contain the parameter MessageGroupId.');
  await rejects(send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'x', MessageGroupId: 'g', DelaySeconds: 5 })),
    'InvalidParameterValue',
    'Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this ' +
    'queue type.');
});

test('long polling returns when a message is sent, without blocking other calls', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'js-poll' }));
  const t0 = Date.now();
  const poll = send(new sqs.ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
  await new Promise((r) => setTimeout(r, 300));
  const t1 = Date.now();
  await send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  assert.ok(Date.now() - t1 < 1000);
  await send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'ping' }));
  const out = await poll;
  assert.equal(out.Messages[0].Body, 'ping');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test('dead-letter queue, ListDeadLetterSourceQueues and a move task', async () => {
  const dlq = (await send(new sqs.CreateQueueCommand({ QueueName: 'js-dlq' }))).QueueUrl;
  const dlqArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:js-dlq`;
  const src = (await send(new sqs.CreateQueueCommand({
    QueueName: 'js-src',
    Attributes: { VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
  }))).QueueUrl;
  await send(new sqs.SendMessageCommand({ QueueUrl: src, MessageBody: 'poison' }));
  assert.equal((await send(new sqs.ReceiveMessageCommand({ QueueUrl: src }))).Messages.length, 1);
  assert.equal((await send(new sqs.ReceiveMessageCommand({ QueueUrl: src }))).Messages, undefined);
  assert.deepEqual((await send(new sqs.ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls, [src]);
  const { TaskHandle } = await send(new sqs.StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  assert.ok(TaskHandle);
  let task;
  for (let i = 0; i < 100; i++) {
    task = (await send(new sqs.ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results[0];
    if (task.Status !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(task.Status, 'COMPLETED');
  assert.equal(task.ApproximateNumberOfMessagesMoved, 1);
  assert.equal((await send(new sqs.ReceiveMessageCommand({ QueueUrl: src }))).Messages[0].Body, 'poison');
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:nope` })),
    'ResourceNotFoundException', "The resource that you specified for the SourceArn parameter doesn't exist.", 404);
});

// ---- helpers ----

const REGION = 'us-east-1';
const arnOf = (name) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
async function create(QueueName, Attributes, tags) {
  return (await send(new sqs.CreateQueueCommand({ QueueName, Attributes, tags }))).QueueUrl;
}
const fifo = (name, attrs = {}) => create(name, { FifoQueue: 'true', ...attrs });
async function attrs(QueueUrl, ...names) {
  const out = await send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: names.length ? names : ['All'] }));
  return out.Attributes ?? {};
}
async function receive(QueueUrl, opts = {}) {
  return (await send(new sqs.ReceiveMessageCommand({ QueueUrl, ...opts }))).Messages ?? [];
}
const bodies = async (QueueUrl, opts) => (await receive(QueueUrl, opts)).map((m) => m.Body);
const sendBody = (QueueUrl, MessageBody, extra = {}) => send(new sqs.SendMessageCommand({ QueueUrl, MessageBody, ...extra }));
const counts = (QueueUrl) => attrs(QueueUrl, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed');
const redrive = (dlqName, maxReceiveCount) => JSON.stringify({ deadLetterTargetArn: arnOf(dlqName), maxReceiveCount });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A client for a new IAM user without policies of its own.
async function userClient(UserName) {
  const iamc = new iam.IAMClient(config());
  await iamc.send(new iam.CreateUserCommand({ UserName }));
  const key = (await iamc.send(new iam.CreateAccessKeyCommand({ UserName }))).AccessKey;
  return {
    iam: iamc,
    sqs: new sqs.SQSClient(config({ credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey } })),
  };
}

// ---- queues ----

test('ListQueues: prefix, pages of MaxResults with NextToken, and its range', async () => {
  const urls = [];
  for (let i = 0; i < 7; i++) urls.push(await create(`p${i}`));
  await create('other');
  const seen = [];
  let NextToken;
  do {
    const page = await send(new sqs.ListQueuesCommand({ QueueNamePrefix: 'p', MaxResults: 3, NextToken }));
    assert.ok(page.QueueUrls.length <= 3);
    seen.push(...page.QueueUrls);
    NextToken = page.NextToken;
  } while (NextToken);
  assert.deepEqual(seen, urls);
  const all = await send(new sqs.ListQueuesCommand({}));
  assert.equal(all.QueueUrls.length, 8);
  assert.equal(all.NextToken, undefined);
  assert.equal((await send(new sqs.ListQueuesCommand({ QueueNamePrefix: 'zzz' }))).QueueUrls, undefined);
  await rejects(send(new sqs.ListQueuesCommand({ MaxResults: 1001 })), 'InvalidParameterValue',
    'Value 1001 for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.', 400);
});

test('queues: names, default attributes, ranges, unknown and read-only names, FIFO-only attributes', async () => {
  const std = 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length';
  const fifoNames = 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must ' +
    'end with .fifo suffix and be 1 to 80 in length';
  for (const bad of ['has space', 'a'.repeat(81), 'dots.in.name', 'std.fifo']) {
    await rejects(create(bad), 'InvalidParameterValue', std, 400);
  }
  await rejects(fifo('nosuffix'), 'InvalidParameterValue', fifoNames);
  await rejects(fifo(`${'a'.repeat(76)}.fifo`), 'InvalidParameterValue', fifoNames);
  await create('a'.repeat(80));
  await fifo(`${'b'.repeat(75)}.fifo`);

  const url = await create('defaults');
  const a = await attrs(url);
  assert.deepEqual([a.VisibilityTimeout, a.MaximumMessageSize, a.MessageRetentionPeriod, a.DelaySeconds,
    a.ReceiveMessageWaitTimeSeconds, a.SqsManagedSseEnabled], ['30', '1048576', '345600', '0', '0', 'true']);
  assert.equal(a.FifoQueue, undefined);
  // No AttributeNames: no attributes.
  assert.equal((await send(new sqs.GetQueueAttributesCommand({ QueueUrl: url }))).Attributes, undefined);

  const bad = {
    VisibilityTimeout: ['-1', '43201', 'abc'], DelaySeconds: ['901'], MaximumMessageSize: ['1023', '1048577'],
    MessageRetentionPeriod: ['59', '1209601'], ReceiveMessageWaitTimeSeconds: ['21'],
    KmsDataKeyReusePeriodSeconds: ['59', '86401'], SqsManagedSseEnabled: ['maybe'],
  };
  for (const [name, values] of Object.entries(bad)) {
    for (const v of values) {
      await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { [name]: v } })),
        'InvalidAttributeValue', `Invalid value for the parameter ${name}.`, 400);
      await rejects(create('never', { [name]: v }), 'InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
    }
  }
  await send(new sqs.SetQueueAttributesCommand({
    QueueUrl: url,
    Attributes: { VisibilityTimeout: '43200', DelaySeconds: '900', MaximumMessageSize: '1024',
      MessageRetentionPeriod: '60', ReceiveMessageWaitTimeSeconds: '20' },
  }));
  const b = await attrs(url, 'VisibilityTimeout', 'DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod',
    'ReceiveMessageWaitTimeSeconds');
  assert.deepEqual(b, { VisibilityTimeout: '43200', DelaySeconds: '900', MaximumMessageSize: '1024',
    MessageRetentionPeriod: '60', ReceiveMessageWaitTimeSeconds: '20' });
  // A request with one bad attribute changes none of the good ones.
  await rejects(send(new sqs.SetQueueAttributesCommand({
    QueueUrl: url, Attributes: { VisibilityTimeout: '20', Policy: '{not json' },
  })), 'InvalidAttributeValue', 'Invalid value for the parameter Policy.');
  assert.equal((await attrs(url, 'VisibilityTimeout')).VisibilityTimeout, '43200');

  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Foo: '1' } })),
    'InvalidAttributeName', 'Unknown Attribute Foo.', 400);
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { QueueArn: 'x' } })),
    'InvalidAttributeName', 'Unknown Attribute QueueArn.');
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoThroughputLimit: 'perQueue' } })),
    'InvalidAttributeName', 'You can specify the FifoThroughputLimit only when FifoQueue is set to true.');
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { ContentBasedDeduplication: 'true' } })),
    'InvalidAttributeName', 'Unknown Attribute ContentBasedDeduplication.');
  await rejects(send(new sqs.SetQueueAttributesCommand({
    QueueUrl: url, Attributes: { KmsMasterKeyId: 'alias/k', SqsManagedSseEnabled: 'true' },
  })), 'InvalidAttributeName',
  'You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.');
  await send(new sqs.SetQueueAttributesCommand({
    QueueUrl: url, Attributes: { KmsMasterKeyId: 'alias/k', KmsDataKeyReusePeriodSeconds: '600' },
  }));
  assert.deepEqual(await attrs(url, 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled'),
    { KmsMasterKeyId: 'alias/k', KmsDataKeyReusePeriodSeconds: '600', SqsManagedSseEnabled: 'false' });

  // FIFO throughput settings are accepted and shown.
  const f = await fifo('tp.fifo', { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
  const fa = await attrs(f, 'FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit');
  assert.deepEqual(fa, { FifoQueue: 'true', ContentBasedDeduplication: 'false', DeduplicationScope: 'messageGroup',
    FifoThroughputLimit: 'perMessageGroupId' });
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: f, Attributes: { FifoQueue: 'false' } })),
    'InvalidAttributeValue', 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.');
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: f, Attributes: { DeduplicationScope: 'x' } })),
    'InvalidAttributeValue', 'Invalid value for the parameter DeduplicationScope.');
  // None of the failed creates made a queue.
  assert.ok(!(await send(new sqs.ListQueuesCommand({}))).QueueUrls.some((u) => u.endsWith('/never')));
});

test('CreateQueue is idempotent only with the same attributes; a deleted name waits 60 s', async () => {
  const url = await create('idem', { DelaySeconds: '1' });
  assert.equal(await create('idem'), url);
  assert.equal(await create('idem', { DelaySeconds: '1' }), url);
  await rejects(create('idem', { DelaySeconds: '2' }), 'QueueNameExists',
    'A queue already exists with the same name and a different value for attribute DelaySeconds', 400);
  await send(new sqs.DeleteQueueCommand({ QueueUrl: url }));
  await rejects(send(new sqs.DeleteQueueCommand({ QueueUrl: url })), 'QueueDoesNotExist',
    'The specified queue does not exist.', 400);
  await rejects(create('idem'), 'QueueDeletedRecently',
    'You must wait 60 seconds after deleting a queue before you can create another with the same name.', 400);
  await kyoka.advance(61);
  assert.equal(await create('idem'), url);
  assert.equal((await attrs(url, 'DelaySeconds')).DelaySeconds, '0');
  assert.equal((await send(new sqs.GetQueueUrlCommand({ QueueName: 'idem', QueueOwnerAWSAccountId: ACCOUNT }))).QueueUrl, url);
});

test('PurgeQueue once a minute on the server clock; tags and their limit', async () => {
  const url = await create('purge', {}, { team: 'a' });
  for (let i = 0; i < 5; i++) await sendBody(url, `m${i}`, { DelaySeconds: i });
  await receive(url);
  await send(new sqs.PurgeQueueCommand({ QueueUrl: url }));
  assert.deepEqual(await counts(url), { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0',
    ApproximateNumberOfMessagesDelayed: '0' });
  await rejects(send(new sqs.PurgeQueueCommand({ QueueUrl: url })), 'PurgeQueueInProgress',
    'Only one PurgeQueue operation on purge is allowed every 60 seconds.', 403);
  await kyoka.advance(60);
  assert.deepEqual(await receive(url), []);
  await send(new sqs.PurgeQueueCommand({ QueueUrl: url }));

  await send(new sqs.TagQueueCommand({ QueueUrl: url, Tags: { team: 'b', cost: '' } }));
  await send(new sqs.UntagQueueCommand({ QueueUrl: url, TagKeys: ['missing'] }));
  assert.deepEqual((await send(new sqs.ListQueueTagsCommand({ QueueUrl: url }))).Tags, { team: 'b', cost: '' });
  const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
  await rejects(send(new sqs.TagQueueCommand({ QueueUrl: url, Tags: many })), 'InvalidParameterValue',
    'Too many tags added for queue purge.', 400);
  await send(new sqs.UntagQueueCommand({ QueueUrl: url, TagKeys: ['team', 'cost'] }));
  assert.equal((await send(new sqs.ListQueueTagsCommand({ QueueUrl: url }))).Tags, undefined);
});

// ---- messages ----

test('at-least-once: redelivery after the visibility timeout, system attributes, receipt handles that stop working', async () => {
  const url = await create('vis', { VisibilityTimeout: '30' });
  const sent = await sendBody(url, 'm');
  const first = (await receive(url, { MessageSystemAttributeNames: ['All'] }))[0];
  const sentAt = Number(first.Attributes.SentTimestamp);
  assert.ok(Math.abs(sentAt - Date.now()) < 120000);
  assert.ok(Number(first.Attributes.ApproximateFirstReceiveTimestamp) >= sentAt);
  assert.equal(first.Attributes.ApproximateReceiveCount, '1');
  assert.equal(first.Attributes.SenderId, ACCOUNT);
  assert.equal(first.MD5OfBody, createHash('md5').update('m').digest('hex'));
  assert.deepEqual(await receive(url), []);
  assert.deepEqual(await attrs(url, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'),
    { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });
  await kyoka.advance(29);
  assert.deepEqual(await receive(url), []);
  await kyoka.advance(2);
  const second = (await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'], VisibilityTimeout: 100 }))[0];
  assert.equal(second.MessageId, sent.MessageId);
  assert.equal(second.Attributes.ApproximateReceiveCount, '2');
  assert.notEqual(second.ReceiptHandle, first.ReceiptHandle);
  // The older handle no longer changes visibility...
  await rejects(send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 })),
    'InvalidParameterValue', `Value ${first.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does ` +
    'not exist or is not available for visibility timeout change.', 400);
  // ...and a handle of another queue is not valid there.
  const other = await create('other');
  await rejects(send(new sqs.DeleteMessageCommand({ QueueUrl: other, ReceiptHandle: second.ReceiptHandle })),
    'ReceiptHandleIsInvalid', `The receipt handle "${second.ReceiptHandle}" is not valid for this queue.`, 404);
  // At most 12 hours from the receive.
  await kyoka.advance(20);
  await rejects(send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 43190 })),
    'InvalidParameterValue', 'Value 43190 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout ' +
    'for the message is beyond the limit [43200 seconds].');
  await rejects(send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 43201 })),
    'InvalidParameterValue', 'Value 43201 for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ' +
    '43200, if provided.');
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 0 }));
  // A handle of a message that is visible again: 200, and nothing changes.
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 10 }));
  assert.equal((await counts(url)).ApproximateNumberOfMessages, '1');
  assert.equal((await counts(url)).ApproximateNumberOfMessagesNotVisible, '0');
  // On a standard queue any handle of the message deletes it; twice is fine.
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
  assert.deepEqual(await counts(url), { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0',
    ApproximateNumberOfMessagesDelayed: '0' });
  // VisibilityTimeout 0 on receive leaves the message visible.
  await sendBody(url, 'again');
  assert.equal((await receive(url, { VisibilityTimeout: 0 })).length, 1);
  assert.equal((await receive(url)).length, 1);
  assert.deepEqual(await receive(url), []);
});

test('delay queues, per-message DelaySeconds, retention and the size limit on the server clock', async () => {
  const url = await create('delays', { DelaySeconds: '10' });
  await sendBody(url, 'queue-delay');
  await sendBody(url, 'now', { DelaySeconds: 0 });
  await sendBody(url, 'later', { DelaySeconds: 900 });
  assert.deepEqual(await attrs(url, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'),
    { ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesDelayed: '2' });
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10, VisibilityTimeout: 1000 }), ['now']);
  await kyoka.advance(10);
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10, VisibilityTimeout: 1000 }), ['queue-delay']);
  await kyoka.advance(890);
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10 }), ['later']);
  for (const d of [-1, 901]) {
    await rejects(sendBody(url, 'x', { DelaySeconds: d }), 'InvalidParameterValue',
      `Value ${d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`, 400);
  }

  const kept = await create('retention', { MessageRetentionPeriod: '60' });
  await sendBody(kept, 'old');
  await kyoka.advance(30);
  await sendBody(kept, 'new');
  await kyoka.advance(31);
  assert.deepEqual(await attrs(kept, 'ApproximateNumberOfMessages'), { ApproximateNumberOfMessages: '1' });
  assert.deepEqual(await bodies(kept, { MaxNumberOfMessages: 10 }), ['new']);

  const small = await create('small', { MaximumMessageSize: '1024' });
  await sendBody(small, 'a'.repeat(1024));
  const tooLong = 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.';
  await rejects(sendBody(small, 'a'.repeat(1025)), 'InvalidParameterValue', tooLong, 400);
  // Attributes count: name + type + value.
  await rejects(sendBody(small, 'a'.repeat(1011), { MessageAttributes: { k: { DataType: 'String', StringValue: 'xxxxxxx' } } }),
    'InvalidParameterValue', tooLong);
  await sendBody(small, 'a'.repeat(1011), { MessageAttributes: { k: { DataType: 'String', StringValue: 'xxxxxx' } } });
  // The 1 MiB default takes a 1 MiB body.
  const big = await create('big');
  await sendBody(big, 'b'.repeat(1048576));
  await rejects(sendBody(big, 'b'.repeat(1048577)), 'InvalidParameterValue',
    'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.');
  assert.equal((await receive(big))[0].Body.length, 1048576);
});

test('message validation: AWS codes and messages, and nothing is enqueued', async () => {
  const url = await create('valid');
  await rejects(sendBody(url, ''), 'MissingParameter', 'The request must contain the parameter MessageBody.', 400);
  await rejects(sendBody(url, '\uffff'), 'InvalidMessageContents');
  const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }]));
  await rejects(sendBody(url, 'x', { MessageAttributes: many }), 'InvalidParameterValue',
    'Number of message attributes [11] exceeds the allowed maximum [10].');
  const cases = [
    [{ 'AWS.x': { DataType: 'String', StringValue: 'v' } },
      "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. These strings are reserved for internal use."],
    [{ 'bad!name': { DataType: 'String', StringValue: 'v' } },
      'Message (user) attributes name can only contain upper and lower score characters, digits, periods, hyphens and ' +
      'underscores. '],
    [{ x: { DataType: 'Float', StringValue: '1' } },
      "The type of message (user) attribute 'x' is invalid. You must use only the following supported type prefixes: " +
      'Binary, Number, String.'],
    [{ x: { DataType: 'Number', StringValue: 'one' } }, "Can't cast the value of message (user) attribute 'x' to a number."],
    [{ 'a..b': { DataType: 'String', StringValue: 'v' } },
      "Message (user) attribute name 'a..b' can't start or end with a period (.), or contain consecutive periods (..)."],
    [{ ['L'.repeat(256)]: { DataType: 'String', StringValue: 'v' } },
      'Message (user) attribute name must be shorter than 256 bytes.'],
  ];
  for (const [MessageAttributes, message] of cases) {
    await rejects(sendBody(url, 'x', { MessageAttributes }), 'InvalidParameterValue', message, 400);
  }
  await rejects(sendBody(url, 'x', { MessageDeduplicationId: 'd' }), 'InvalidParameterValue',
    'The request include parameter MessageDeduplicationId which is not valid for this queue type');
  await rejects(sendBody(url, 'x', { MessageSystemAttributes: { Nope: { DataType: 'String', StringValue: 'v' } } }),
    'InvalidParameterValue', "Message system attribute name 'Nope' is invalid.");
  // Standard queues take a MessageGroupId (fair queues) and give it back.
  await sendBody(url, 'fair', { MessageGroupId: 'tenant-1' });
  assert.equal((await receive(url, { MessageSystemAttributeNames: ['MessageGroupId'] }))[0].Attributes.MessageGroupId, 'tenant-1');
  assert.deepEqual(await attrs(url, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'),
    { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });

  // ReceiveMessage's own ranges.
  await rejects(receive(url, { MaxNumberOfMessages: 0 }), 'InvalidParameterValue',
    'Value 0 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.');
  await rejects(receive(url, { WaitTimeSeconds: 21 }), 'InvalidParameterValue',
    'Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.');
  await rejects(receive(url, { VisibilityTimeout: -1 }), 'InvalidParameterValue',
    'Value -1 for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.');
});

test('message attributes: name filters select what is returned and its digest', async () => {
  const url = await create('filters', { VisibilityTimeout: '0' });
  const MessageAttributes = {
    'Help.Me': { DataType: 'String', StringValue: 'Me' },
    Hello: { DataType: 'String', StringValue: 'There' },
    General: { DataType: 'String', StringValue: 'Kenobi' },
  };
  const sent = await sendBody(url, 'msg', { MessageAttributes });
  assert.equal(sent.MD5OfMessageAttributes, '4c360f3fdafd970e05fae2f149d997f5');
  const got = async (names) => {
    const m = (await receive(url, { MessageAttributeNames: names }))[0];
    return [Object.keys(m.MessageAttributes ?? {}).sort(), m.MD5OfMessageAttributes];
  };
  assert.deepEqual(await got(['All']), [['General', 'Hello', 'Help.Me'], '4c360f3fdafd970e05fae2f149d997f5']);
  assert.deepEqual(await got(['Hello', 'General']), [['General', 'Hello'], 'fca026605781cb4126a1e9044df24232']);
  assert.deepEqual(await got(['Hel.*']), [['Hello', 'Help.Me'], '83fee93c1bcd8b9a5a923ffacdc636c7']);
  assert.deepEqual(await got(['Foo']), [[], undefined]);
  // System attributes: only those asked for, and no FIFO ones on a standard queue.
  const m = (await receive(url, { MessageSystemAttributeNames: ['SenderId', 'SequenceNumber'] }))[0];
  assert.deepEqual(m.Attributes, { SenderId: ACCOUNT });
});

test('batches: total size, entry ids, entries over MaximumMessageSize, partial results of every batch operation', async () => {
  const url = await create('batches', { MaximumMessageSize: '1024' });
  const big = 'a'.repeat(512 * 1024);
  const roomy = await create('roomy');
  await rejects(send(new sqs.SendMessageBatchCommand({
    QueueUrl: roomy, Entries: [{ Id: '1', MessageBody: big }, { Id: '2', MessageBody: `${big}b` }],
  })), 'BatchRequestTooLong', 'Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.', 400);
  for (const Id of ['', 'x'.repeat(81), 'invalid:id']) {
    await rejects(send(new sqs.SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id, MessageBody: 'b' }] })),
      'InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It ' +
      'can be at most 80 letters long.', 400);
  }
  const out = await send(new sqs.SendMessageBatchCommand({
    QueueUrl: url,
    Entries: [
      { Id: 'fits', MessageBody: 'a'.repeat(1024) },
      { Id: 'big', MessageBody: 'a'.repeat(1025) },
      { Id: 'delayed', MessageBody: 'd', DelaySeconds: 5 },
      { Id: 'late', MessageBody: 'x', DelaySeconds: 1000 },
    ],
  }));
  assert.deepEqual(out.Successful.map((e) => e.Id), ['fits', 'delayed']);
  assert.deepEqual(out.Failed, [
    { Id: 'big', SenderFault: true, Code: 'InvalidParameterValue',
      Message: 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.' },
    { Id: 'late', SenderFault: true, Code: 'InvalidParameterValue',
      Message: 'Value 1000 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.' },
  ]);
  await kyoka.advance(5);
  const msgs = await receive(url, { MaxNumberOfMessages: 10 });
  assert.equal(msgs.length, 2);
  const cv = await send(new sqs.ChangeMessageVisibilityBatchCommand({
    QueueUrl: url,
    Entries: [{ Id: 'x', ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0 },
      { Id: 'y', ReceiptHandle: 'nonsense', VisibilityTimeout: 0 },
      { Id: 'z', ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 43201 }],
  }));
  assert.deepEqual(cv.Successful, [{ Id: 'x' }]);
  assert.deepEqual(cv.Failed, [
    { Id: 'y', SenderFault: true, Code: 'ReceiptHandleIsInvalid',
      Message: 'The input receipt handle "nonsense" is not a valid receipt handle.' },
    { Id: 'z', SenderFault: true, Code: 'InvalidParameterValue',
      Message: 'Value 43201 for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.' },
  ]);
  await rejects(send(new sqs.DeleteMessageBatchCommand({
    QueueUrl: url, Entries: Array.from({ length: 20 }, (_, i) => ({ Id: `m${i}`, ReceiptHandle: 'x' })),
  })), 'TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10. You have sent 20.', 400);
  await rejects(send(new sqs.ChangeMessageVisibilityBatchCommand({
    QueueUrl: url, Entries: [{ Id: 'same', ReceiptHandle: 'a', VisibilityTimeout: 1 }, { Id: 'same', ReceiptHandle: 'b', VisibilityTimeout: 1 }],
  })), 'BatchEntryIdsNotDistinct', 'Id same repeated.', 400);
  const again = await receive(url, { MaxNumberOfMessages: 10 });
  const del = await send(new sqs.DeleteMessageBatchCommand({
    QueueUrl: url, Entries: [...again, msgs[1]].map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
  }));
  assert.equal(del.Successful.length, 2);
  assert.deepEqual(await counts(url), { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0',
    ApproximateNumberOfMessagesDelayed: '0' });
});

test('long polling: the queue default wait, and waking on visibility and delay ends moved by the server clock', async () => {
  const url = await create('poll', { ReceiveMessageWaitTimeSeconds: '1' });
  let t0 = Date.now();
  assert.deepEqual(await receive(url), []);
  assert.ok(Date.now() - t0 >= 900, `returned after ${Date.now() - t0} ms`);
  t0 = Date.now();
  assert.deepEqual(await receive(url, { WaitTimeSeconds: 0 }), []);
  assert.ok(Date.now() - t0 < 500);

  await sendBody(url, 'inflight');
  assert.equal((await receive(url)).length, 1);
  await sendBody(url, 'delayed', { DelaySeconds: 300 });
  t0 = Date.now();
  let poll = receive(url, { WaitTimeSeconds: 15, MaxNumberOfMessages: 10 });
  await sleep(300);
  await kyoka.advance(31);
  const woke = await poll;
  assert.deepEqual(woke.map((m) => m.Body), ['inflight']);
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: woke[0].ReceiptHandle }));
  assert.ok(Date.now() - t0 < 5000);
  poll = receive(url, { WaitTimeSeconds: 15, MaxNumberOfMessages: 10, VisibilityTimeout: 600 });
  await sleep(300);
  await kyoka.advance(300);
  assert.deepEqual((await poll).map((m) => m.Body), ['delayed']);
  assert.ok(Date.now() - t0 < 10000);
});

// ---- FIFO ----

test('FIFO: in-flight groups block, deduplication window on the server clock, scope, FIFO-only errors', async () => {
  const url = await fifo('groups.fifo', { ContentBasedDeduplication: 'true', VisibilityTimeout: '30' });
  for (const [body, g] of [['g1-m1', '1'], ['g1-m2', '1'], ['g1-m3', '1'], ['g2-m1', '2'], ['g3-m1', '3']]) {
    await sendBody(url, body, { MessageGroupId: g });
  }
  const first = await receive(url, { MaxNumberOfMessages: 2 });
  assert.deepEqual(first.map((m) => m.Body), ['g1-m1', 'g1-m2']);
  assert.deepEqual(await bodies(url), ['g2-m1']);
  // Deleting one of two in-flight messages keeps the group locked.
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first[0].ReceiptHandle }));
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10 }), ['g3-m1']);
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first[1].ReceiptHandle, VisibilityTimeout: 0 }));
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10 }), ['g1-m2', 'g1-m3']);
  await kyoka.advance(31);
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10, VisibilityTimeout: 0 }), ['g2-m1', 'g3-m1', 'g1-m2', 'g1-m3']);

  // A FIFO receipt handle dies with its visibility timeout.
  const exp = await fifo('expire.fifo', { ContentBasedDeduplication: 'true', VisibilityTimeout: '10' });
  await sendBody(exp, 'm', { MessageGroupId: 'g' });
  const rh = (await receive(exp))[0].ReceiptHandle;
  await kyoka.advance(11);
  await rejects(send(new sqs.DeleteMessageCommand({ QueueUrl: exp, ReceiptHandle: rh })), 'InvalidParameterValue',
    `Value ${rh} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`, 400);

  // Explicit deduplication ids, kept 5 minutes even after a delete.
  const dd = await fifo('dedup.fifo');
  const r1 = await sendBody(dd, 'first', { MessageGroupId: 'g', MessageDeduplicationId: 'd' });
  const r2 = await sendBody(dd, 'other', { MessageGroupId: 'g', MessageDeduplicationId: 'd' });
  assert.deepEqual([r2.MessageId, r2.SequenceNumber], [r1.MessageId, r1.SequenceNumber]);
  const got = (await receive(dd, { MessageSystemAttributeNames: ['All'] }))[0];
  assert.deepEqual([got.Body, got.Attributes.MessageGroupId, got.Attributes.MessageDeduplicationId, got.Attributes.SequenceNumber],
    ['first', 'g', 'd', r1.SequenceNumber]);
  await send(new sqs.DeleteMessageCommand({ QueueUrl: dd, ReceiptHandle: got.ReceiptHandle }));
  await sendBody(dd, 'again', { MessageGroupId: 'g', MessageDeduplicationId: 'd' });
  assert.deepEqual(await receive(dd), []);
  await kyoka.advance(301);
  const r4 = await sendBody(dd, 'again', { MessageGroupId: 'g', MessageDeduplicationId: 'd' });
  assert.notEqual(r4.MessageId, r1.MessageId);
  assert.ok(BigInt(r4.SequenceNumber) > BigInt(r1.SequenceNumber));
  assert.deepEqual(await bodies(dd), ['again']);

  // Content-based ids are the body's SHA-256; scope messageGroup keeps one window per group.
  const cb = await fifo('cb.fifo', { ContentBasedDeduplication: 'true' });
  const a = await sendBody(cb, 'same', { MessageGroupId: 'g1' });
  assert.equal((await sendBody(cb, 'same', { MessageGroupId: 'g2' })).MessageId, a.MessageId);
  assert.equal((await receive(cb, { MessageSystemAttributeNames: ['MessageDeduplicationId'] }))[0].Attributes.MessageDeduplicationId,
    createHash('sha256').update('same').digest('hex'));
  const scoped = await fifo('scoped.fifo', { ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup' });
  const s1 = await sendBody(scoped, 'same', { MessageGroupId: 'g1' });
  const s2 = await sendBody(scoped, 'same', { MessageGroupId: 'g2' });
  const s3 = await sendBody(scoped, 'same', { MessageGroupId: 'g2' });
  assert.notEqual(s1.MessageId, s2.MessageId);
  assert.equal(s2.MessageId, s3.MessageId);

  // The FIFO-only rules.
  await rejects(sendBody(dd, 'x', { MessageGroupId: 'g' }), 'InvalidParameterValue',
    'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly', 400);
  await rejects(sendBody(dd, 'x', { MessageGroupId: 'g g', MessageDeduplicationId: 'd2' }), 'InvalidParameterValue',
    'Value g g for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and ' +
    'punctuation characters. 1 to 128 in length.');
  await rejects(sendBody(dd, 'x', { MessageGroupId: 'g', MessageDeduplicationId: 'd'.repeat(129) }), 'InvalidParameterValue',
    `Value ${'d'.repeat(129)} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only ` +
    'include alphanumeric and punctuation characters. 1 to 128 in length.');
  await rejects(send(new sqs.SendMessageBatchCommand({
    QueueUrl: dd, Entries: [{ Id: '1', MessageBody: 'a', MessageGroupId: 'g', MessageDeduplicationId: '1' },
      { Id: '2', MessageBody: 'b', MessageDeduplicationId: '2' }],
  })), 'InvalidParameterValue', 'The request must contain the parameter MessageGroupId.', 400);
  await sendBody(dd, 'zero delay is fine', { MessageGroupId: 'g', MessageDeduplicationId: 'z', DelaySeconds: 0 });
  // A queue delay applies to FIFO messages.
  const slow = await fifo('slow.fifo', { ContentBasedDeduplication: 'true', DelaySeconds: '5' });
  for (let i = 0; i < 3; i++) await sendBody(slow, `m${i}`, { MessageGroupId: 'g' });
  assert.deepEqual(await receive(slow), []);
  await kyoka.advance(5);
  assert.deepEqual(await bodies(slow, { MaxNumberOfMessages: 3 }), ['m0', 'm1', 'm2']);
});

test('FIFO: each group stays in order under concurrent consumers', async () => {
  const url = await fifo('busy.fifo', { ContentBasedDeduplication: 'true', VisibilityTimeout: '60' });
  const groups = 6;
  const perGroup = 15;
  for (let i = 0; i < perGroup; i++) {
    await send(new sqs.SendMessageBatchCommand({
      QueueUrl: url,
      Entries: Array.from({ length: groups }, (_, g) => ({ Id: `g${g}`, MessageBody: `${g}:${i}`, MessageGroupId: String(g) })),
    }));
  }
  const seen = Array.from({ length: groups }, () => []);
  const consumer = async () => {
    const c = new sqs.SQSClient(config());
    let idle = 0;
    while (idle < 2) {
      const msgs = (await c.send(new sqs.ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 3, WaitTimeSeconds: 1 }))).Messages ?? [];
      if (!msgs.length) { idle++; continue; }
      idle = 0;
      for (const m of msgs) {
        const [g, i] = m.Body.split(':').map(Number);
        seen[g].push(i);
      }
      // Hand the batch back in pieces so the consumers interleave.
      for (const m of msgs) await c.send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  };
  await Promise.all([consumer(), consumer(), consumer(), consumer()]);
  for (let g = 0; g < groups; g++) assert.deepEqual(seen[g], Array.from({ length: perGroup }, (_, i) => i), `group ${g}`);
});

test('FIFO: ReceiveRequestAttemptId retries a lost receive on the server clock', async () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
  const url = await fifo('attempt.fifo', { ContentBasedDeduplication: 'true', VisibilityTimeout: '30' });
  for (const [body, g] of [['a1', 'a'], ['a2', 'a'], ['b1', 'b']]) await sendBody(url, body, { MessageGroupId: g });
  const got = async (ReceiveRequestAttemptId, opts = {}) => (await receive(url, {
    ReceiveRequestAttemptId, MessageSystemAttributeNames: ['ApproximateReceiveCount'], ...opts,
  })).map((m) => [m.Body, m.ReceiptHandle, m.Attributes.ApproximateReceiveCount]);
  const notRetryable = (id) => `Value ${id} for parameter ReceiveRequestAttemptId is invalid. Reason: The ` +
    'receiveRequestAttemptId is not valid anymore since the receive call is not retryable.';

  const first = await got('try-1', { MaxNumberOfMessages: 2 });
  assert.deepEqual(first.map(([b]) => b), ['a1', 'a2']);
  // The same id: the same messages and receipt handles, no new receive.
  assert.deepEqual(await got('try-1', { MaxNumberOfMessages: 2 }), first);
  const [[b1, b1Handle]] = await got('try-2', { MaxNumberOfMessages: 10 });
  assert.equal(b1, 'b1');
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: b1Handle }));
  // A retry starts the visibility timeout over.
  await kyoka.advance(20);
  assert.deepEqual(await got('try-1'), first);
  await kyoka.advance(20);
  assert.deepEqual(await got(undefined, { MaxNumberOfMessages: 10 }), []);
  // After it ended, with nobody else receiving, the retry still answers.
  await kyoka.advance(11);
  assert.deepEqual(await got('try-1'), first);
  await send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first[0][1] }));
  await rejects(got('try-1'), 'InvalidParameterValue', notRetryable('try-1'), 400);
  // A visibility change ends the retries too.
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first[1][1], VisibilityTimeout: 0 }));
  const [[a2, a2Handle, count]] = await got('try-3');
  assert.deepEqual([a2, count], ['a2', '2']);
  await send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: a2Handle, VisibilityTimeout: 60 }));
  await rejects(got('try-3'), 'InvalidParameterValue', notRetryable('try-3'));
  // Five minutes after the receive, the id starts a new receive.
  await kyoka.advance(301);
  const fresh = await got('try-3');
  assert.deepEqual(fresh.map(([b, , c]) => [b, c]), [['a2', '3']]);
  assert.deepEqual(await got('try-3'), fresh);
  // Standard queues accept the parameter and ignore it.
  const std = await create('std');
  await sendBody(std, 'one');
  await sendBody(std, 'two');
  assert.deepEqual(await bodies(std, { ReceiveRequestAttemptId: 'same' }), ['one']);
  assert.deepEqual(await bodies(std, { ReceiveRequestAttemptId: 'same' }), ['two']);
  await rejects(got('has space'), 'InvalidParameterValue', 'Value has space for parameter ReceiveRequestAttemptId is ' +
    'invalid. Reason: ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.');
});

// ---- dead-letter queues ----

test('dead-letter queues: RedrivePolicy validation, RedriveAllowPolicy, FIFO DLQ', async () => {
  const dlq = await create('dlq');
  const src = await create('src');
  const bad = async (policy, message) => rejects(send(new sqs.SetQueueAttributesCommand({
    QueueUrl: src, Attributes: { RedrivePolicy: policy },
  })), 'InvalidParameterValue', message, 400);
  let p = JSON.stringify({ deadLetterTargetArn: 'dummy', maxReceiveCount: 42 });
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.`);
  p = JSON.stringify({ maxReceiveCount: 5 });
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory ` +
    'attribute: deadLetterTargetArn.');
  p = JSON.stringify({ deadLetterTargetArn: arnOf('dlq'), maxReceiveCount: 1001 });
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: 1001, ` +
    'valid values are from 1 to 1000 both inclusive.');
  p = redrive('missing', 1);
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`);
  await fifo('fdlq.fifo');
  p = redrive('fdlq.fifo', 1);
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue ` +
    'as the source..');
  await bad('not json', 'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.');
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: src, Attributes: { RedrivePolicy: redrive('dlq', '7') } }));
  assert.deepEqual(JSON.parse((await attrs(src, 'RedrivePolicy')).RedrivePolicy),
    { deadLetterTargetArn: arnOf('dlq'), maxReceiveCount: 7 });

  // RedriveAllowPolicy on the dead-letter queue decides who may use it.
  const closed = await create('closed', { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'denyAll' }) });
  p = redrive('closed', 3);
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: The dead-letter queue's RedriveAllowPolicy ` +
    `does not allow ${arnOf('src')} to use it as a dead-letter queue.`);
  const allowed = await create('allowed');
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: closed, Attributes: {
    RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arnOf('allowed')] }),
  } }));
  await bad(p, `Value ${p} for parameter RedrivePolicy is invalid. Reason: The dead-letter queue's RedriveAllowPolicy ` +
    `does not allow ${arnOf('src')} to use it as a dead-letter queue.`);
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: allowed, Attributes: { RedrivePolicy: p } }));
  const byQueue = JSON.stringify({ redrivePermission: 'byQueue' });
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: closed, Attributes: { RedriveAllowPolicy: byQueue } })),
    'InvalidParameterValue', `Value ${byQueue} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't ` +
    'create the redrive allow policy. When you specify the byQueue permission type, you must also specify one or more ' +
    'sourceQueueArns values.');
  assert.deepEqual((await send(new sqs.ListDeadLetterSourceQueuesCommand({ QueueUrl: closed }))).queueUrls, [allowed]);

  // A FIFO queue's dead-letter queue is FIFO, and takes the group along.
  const fdlq = await fifo('fd.fifo', { ContentBasedDeduplication: 'true' });
  const fsrc = await fifo('fs.fifo', { ContentBasedDeduplication: 'true', VisibilityTimeout: '0', RedrivePolicy: redrive('fd.fifo', 1) });
  await sendBody(fsrc, 'a', { MessageGroupId: 'g' });
  await sendBody(fsrc, 'b', { MessageGroupId: 'g' });
  assert.deepEqual(await bodies(fsrc), ['a']);
  assert.deepEqual(await bodies(fsrc), ['b']);
  const dead = (await receive(fdlq, { MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }))[0];
  assert.deepEqual([dead.Body, dead.Attributes.MessageGroupId, dead.Attributes.DeadLetterQueueSourceArn],
    ['a', 'g', arnOf('fs.fifo')]);
});

test('move tasks: a destination, a rate on the server clock, cancel, and their errors', async () => {
  const dlq = await create('dlq');
  await create('src', { RedrivePolicy: redrive('dlq', 1) });
  const dest = await create('dest');
  for (let i = 0; i < 10; i++) await sendBody(dlq, `m${i}`);
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: arnOf('src') })), 'InvalidParameterValue',
    'Source queue must be configured as a Dead Letter Queue.', 400);
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: 'not-an-arn' })), 'InvalidParameterValue',
    'You must use this format to specify the SourceArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>');
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: arnOf('dlq'), DestinationArn: arnOf('nope') })),
    'ResourceNotFoundException', "The resource that you specified for the DestinationArn parameter doesn't exist.", 404);
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: arnOf('dlq'), MaxNumberOfMessagesPerSecond: 501 })),
    'InvalidParameterValue', "Value 501 for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a " +
    "number that's between 1 and 500.");
  const { TaskHandle } = await send(new sqs.StartMessageMoveTaskCommand({
    SourceArn: arnOf('dlq'), DestinationArn: arnOf('dest'), MaxNumberOfMessagesPerSecond: 1,
  }));
  await rejects(send(new sqs.StartMessageMoveTaskCommand({ SourceArn: arnOf('dlq') })), 'InvalidParameterValue',
    'There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
  await kyoka.advance(2);
  await sleep(300);
  let task = (await send(new sqs.ListMessageMoveTasksCommand({ SourceArn: arnOf('dlq'), MaxResults: 10 }))).Results[0];
  assert.deepEqual([task.Status, task.TaskHandle, task.MaxNumberOfMessagesPerSecond, task.DestinationArn],
    ['RUNNING', TaskHandle, 1, arnOf('dest')]);
  const { ApproximateNumberOfMessagesMoved } = await send(new sqs.CancelMessageMoveTaskCommand({ TaskHandle }));
  assert.equal(ApproximateNumberOfMessagesMoved, 3);
  task = (await send(new sqs.ListMessageMoveTasksCommand({ SourceArn: arnOf('dlq') }))).Results[0];
  assert.deepEqual([task.Status, task.ApproximateNumberOfMessagesMoved, task.TaskHandle], ['CANCELLED', 3, undefined]);
  assert.deepEqual(await attrs(dest, 'ApproximateNumberOfMessages'), { ApproximateNumberOfMessages: '3' });
  assert.deepEqual(await attrs(dlq, 'ApproximateNumberOfMessages'), { ApproximateNumberOfMessages: '7' });
  await rejects(send(new sqs.CancelMessageMoveTaskCommand({ TaskHandle })), 'InvalidParameterValue',
    `Value ${TaskHandle} for parameter TaskHandle is invalid. Reason: Only a task in the RUNNING state can be cancelled.`);
  await rejects(send(new sqs.CancelMessageMoveTaskCommand({ TaskHandle: 'bogus' })), 'InvalidParameterValue',
    'Value for parameter TaskHandle is invalid.');
  await rejects(send(new sqs.ListMessageMoveTasksCommand({ SourceArn: arnOf('dlq'), MaxResults: 11 })), 'InvalidParameterValue',
    "Value 11 for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.");
});

// ---- queue policies and authorization ----

test('AddPermission, RemovePermission and the Policy attribute', async () => {
  const url = await create('shared');
  const arn = arnOf('shared');
  await send(new sqs.AddPermissionCommand({
    QueueUrl: url, Label: 'crossaccountpermission', AWSAccountIds: [ACCOUNT, '668614515564'], Actions: ['ReceiveMessage'],
  }));
  assert.deepEqual(JSON.parse((await attrs(url, 'Policy')).Policy), {
    Version: '2008-10-17', Id: `${arn}/SQSDefaultPolicy`,
    Statement: [{ Sid: 'crossaccountpermission', Effect: 'Allow',
      Principal: { AWS: [`arn:aws:iam::${ACCOUNT}:root`, 'arn:aws:iam::668614515564:root'] },
      Action: 'SQS:ReceiveMessage', Resource: arn }],
  });
  await rejects(send(new sqs.AddPermissionCommand({
    QueueUrl: url, Label: 'crossaccountpermission', AWSAccountIds: [ACCOUNT], Actions: ['SendMessage'],
  })), 'InvalidParameterValue', 'Value crossaccountpermission for parameter Label is invalid. Reason: Already exists.', 400);
  await rejects(send(new sqs.AddPermissionCommand({ QueueUrl: url, Label: 'x', AWSAccountIds: [ACCOUNT], Actions: ['CreateQueue'] })),
    'InvalidParameterValue', 'Value SQS:CreateQueue for parameter ActionName is invalid. Reason: Please refer to the ' +
    'appropriate WSDL for a list of valid actions. ');
  await rejects(send(new sqs.AddPermissionCommand({
    QueueUrl: url, Label: 'x', AWSAccountIds: [ACCOUNT], Actions: Array(8).fill('SendMessage'),
  })), 'OverLimit', '8 Actions were found, maximum allowed is 7.', 403);
  await send(new sqs.RemovePermissionCommand({ QueueUrl: url, Label: 'crossaccountpermission' }));
  assert.deepEqual(await attrs(url, 'Policy'), {});
  await rejects(send(new sqs.RemovePermissionCommand({ QueueUrl: url, Label: 'crossaccountpermission' })),
    'InvalidParameterValue', "Value crossaccountpermission for parameter Label is invalid. Reason: can't find label.");

  const doc = JSON.stringify({ Version: '2012-10-17', Statement: [{
    Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sqs:SendMessage', Resource: arn }] });
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: doc } }));
  assert.deepEqual(JSON.parse((await attrs(url, 'Policy')).Policy), JSON.parse(doc));
  const noPrincipal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: arn }] });
  await rejects(send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: noPrincipal } })),
    'InvalidAttributeValue', 'Invalid value for the parameter Policy.', 400);
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: '' } }));
  assert.deepEqual(await attrs(url, 'Policy'), {});
});

test('queue policies: they let an IAM user in, and an explicit deny anywhere wins', async () => {
  const alice = await userClient('alice');
  const url = await create('guarded');
  const arn = arnOf('guarded');
  const userArn = `arn:aws:iam::${ACCOUNT}:user/alice`;
  await rejects(alice.sqs.send(new sqs.SendMessageCommand({ QueueUrl: url, MessageBody: 'hi' })), 'AccessDenied',
    `User: ${userArn} is not authorized to perform: sqs:SendMessage on resource: ${arn} because no identity-based ` +
    'policy allows the sqs:SendMessage action', 403);
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: userArn },
      Action: ['sqs:SendMessage', 'sqs:ReceiveMessage'], Resource: arn }] }) } }));
  await alice.sqs.send(new sqs.SendMessageCommand({ QueueUrl: url, MessageBody: 'hi' }));
  await alice.sqs.send(new sqs.SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', MessageBody: 'batch' }] }));
  const m = (await alice.sqs.send(new sqs.ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['SenderId'] }))).Messages[0];
  const user = await alice.iam.send(new iam.GetUserCommand({ UserName: 'alice' }));
  assert.equal(m.Attributes.SenderId, user.User.UserId);
  await rejects(alice.sqs.send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle })), 'AccessDenied');
  // A deny in the queue policy beats the identity's allow...
  await alice.iam.send(new iam.PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'all', PolicyDocument: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] }) }));
  await alice.sqs.send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: userArn }, Action: 'sqs:PurgeQueue', Resource: arn }] }) } }));
  await rejects(alice.sqs.send(new sqs.PurgeQueueCommand({ QueueUrl: url })), 'AccessDenied',
    `User: ${userArn} is not authorized to perform: sqs:PurgeQueue on resource: ${arn} with an explicit deny in a ` +
    'resource-based policy', 403);
  // ...and so does one in the identity's policy against the queue policy's allow.
  await send(new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: arn }] }) } }));
  await alice.iam.send(new iam.PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'no-send', PolicyDocument: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sqs:SendMessage', Resource: '*' }] }) }));
  await rejects(alice.sqs.send(new sqs.SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })), 'AccessDenied',
    `User: ${userArn} is not authorized to perform: sqs:SendMessage on resource: ${arn} with an explicit deny in an ` +
    'identity-based policy', 403);
  assert.deepEqual(await bodies(url, { MaxNumberOfMessages: 10 }), ['batch']);
});

test('every operation is authorized with its IAM action and the queue ARN, and a denied call changes nothing', async () => {
  const nobody = (await userClient('nobody')).sqs;
  const dlq = await create('dlq');
  const url = await create('src', { RedrivePolicy: redrive('dlq', 1) });
  const arn = arnOf('src');
  const dlqArn = arnOf('dlq');
  const { TaskHandle } = await send(new sqs.StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  await sendBody(url, 'm');
  const rh = (await receive(url))[0].ReceiptHandle;
  const calls = [
    ['AddPermission', arn, new sqs.AddPermissionCommand({ QueueUrl: url, Label: 'l', AWSAccountIds: [ACCOUNT], Actions: ['SendMessage'] })],
    ['CancelMessageMoveTask', dlqArn, new sqs.CancelMessageMoveTaskCommand({ TaskHandle })],
    ['ChangeMessageVisibility', arn, new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: rh, VisibilityTimeout: 0 })],
    ['ChangeMessageVisibility', arn, new sqs.ChangeMessageVisibilityBatchCommand({
      QueueUrl: url, Entries: [{ Id: '1', ReceiptHandle: rh, VisibilityTimeout: 0 }] })],
    ['CreateQueue', arnOf('new'), new sqs.CreateQueueCommand({ QueueName: 'new' })],
    ['DeleteMessage', arn, new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: rh })],
    ['DeleteMessage', arn, new sqs.DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', ReceiptHandle: rh }] })],
    ['DeleteQueue', arn, new sqs.DeleteQueueCommand({ QueueUrl: url })],
    ['GetQueueAttributes', arn, new sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })],
    ['GetQueueUrl', arn, new sqs.GetQueueUrlCommand({ QueueName: 'src' })],
    ['ListDeadLetterSourceQueues', dlqArn, new sqs.ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq })],
    ['ListMessageMoveTasks', dlqArn, new sqs.ListMessageMoveTasksCommand({ SourceArn: dlqArn })],
    ['ListQueueTags', arn, new sqs.ListQueueTagsCommand({ QueueUrl: url })],
    ['ListQueues', '*', new sqs.ListQueuesCommand({})],
    ['PurgeQueue', arn, new sqs.PurgeQueueCommand({ QueueUrl: url })],
    ['ReceiveMessage', arn, new sqs.ReceiveMessageCommand({ QueueUrl: url })],
    ['RemovePermission', arn, new sqs.RemovePermissionCommand({ QueueUrl: url, Label: 'l' })],
    ['SendMessage', arn, new sqs.SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })],
    ['SendMessage', arn, new sqs.SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', MessageBody: 'x' }] })],
    ['SetQueueAttributes', arn, new sqs.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: '1' } })],
    ['StartMessageMoveTask', dlqArn, new sqs.StartMessageMoveTaskCommand({ SourceArn: dlqArn })],
    ['TagQueue', arn, new sqs.TagQueueCommand({ QueueUrl: url, Tags: { k: 'v' } })],
    ['UntagQueue', arn, new sqs.UntagQueueCommand({ QueueUrl: url, TagKeys: ['k'] })],
  ];
  assert.equal(calls.length, 23); // every operation of the model
  for (const [action, resource, command] of calls) {
    await rejects(nobody.send(command), 'AccessDenied',
      `User: arn:aws:iam::${ACCOUNT}:user/nobody is not authorized to perform: sqs:${action} on resource: ${resource} ` +
      `because no identity-based policy allows the sqs:${action} action`, 403);
  }
  assert.deepEqual(await attrs(url, 'ApproximateNumberOfMessagesNotVisible', 'DelaySeconds'),
    { ApproximateNumberOfMessagesNotVisible: '1', DelaySeconds: '0' });
  assert.equal((await send(new sqs.ListQueuesCommand({}))).QueueUrls.length, 2);
});
