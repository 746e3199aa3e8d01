// SQS through the AWS SDK for JavaScript v3, which speaks the JSON 1.0
// protocol (X-Amz-Target: AmazonSQS.*) and verifies every MD5 digest kumo
// returns: queues, messages with attributes, batches, FIFO, long polling,
// move tasks, and the SDK's modelled error classes with AWS's messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kumo, sqs } from '../../js/harness.mjs';

const kumo = new Kumo();
let client;
before(async () => {
  await kumo.start();
  client = new sqs.SQSClient(kumo.config());
});
after(async () => { assert.equal(await kumo.stop(), 0); });

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

test('queues: create, URL, attributes, list, tags, delete', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({
    QueueName: 'js-q', Attributes: { VisibilityTimeout: '45' }, tags: { team: 'js' },
  }));
  assert.equal(QueueUrl, `${kumo.endpoint.replace('127.0.0.1', 'localhost')}/${ACCOUNT}/js-q`);
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

test('messages: attributes and digests the SDK verifies, receive, visibility, delete', async () => {
  const { QueueUrl } = await send(new sqs.CreateQueueCommand({ QueueName: 'js-msgs' }));
  const MessageAttributes = {
    s: { DataType: 'String', StringValue: 'héllo' },
    n: { DataType: 'Number', StringValue: '42.5' },
    b: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
    c: { DataType: 'String.custom', StringValue: 'typed' },
  };
  // The SDK recomputes MD5OfMessageBody and MD5OfMessageAttributes and
  // throws if kumo's differ.
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
  await kumo.advance(31);
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
