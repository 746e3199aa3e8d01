// Lambda through the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda),
// which speaks REST-JSON and maps every error to a modelled exception
// class: create and wait for Active, invoke RequestResponse / Event /
// DryRun, the log tail, versions and weighted aliases, throttling and the
// errors AWS documents, with their names, messages and statuses.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { deflateRawSync } from 'node:zlib';
import { Kyoka, sqs, iam } from '../../js/harness.mjs';

// The Lambda client lives in tests/js/node_modules beside the harness; a
// bare ESM import from this folder would not find it, so resolve it there.
const lambda = createRequire(new URL('../../js/package.json', import.meta.url))('@aws-sdk/client-lambda');

const kyoka = new Kyoka();
const ACCOUNT = '000000000000';
const ARN = (name, q) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}${q ? ':' + q : ''}`;
let client;
let iamClient;
let sqsClient;
let roleArn;

before(async () => {
  await kyoka.start();
  client = new lambda.LambdaClient(kyoka.config());
  iamClient = new iam.IAMClient(kyoka.config());
  sqsClient = new sqs.SQSClient(kyoka.config());
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
beforeEach(async () => {
  assert.equal((await kyoka.reset()).status, 200);
  roleArn = (await iamClient.send(new iam.CreateRoleCommand({
    RoleName: 'js-exec',
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  }))).Role.Arn;
  await iamClient.send(new iam.PutRolePolicyCommand({
    RoleName: 'js-exec', PolicyName: 'all',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
  }));
});

const send = (cmd) => client.send(cmd);

// ---- a zip writer (deflate, one entry per file, Unix modes) ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function zip(files, modes = {}) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data);
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8); local.writeUInt16LE(0, 10); local.writeUInt16LE(0x5821, 12);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(0x031e, 4); central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8); central.writeUInt16LE(8, 10); central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x5821, 14); central.writeUInt32LE(crc, 16); central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(((0o100000 | (modes[name] ?? 0o644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10); end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const NODE_ECHO = `
export const handler = async (event, context) => ({
  event, version: process.env.AWS_LAMBDA_FUNCTION_VERSION, requestId: context.awsRequestId,
});
`;

async function create(name, { code = zip({ 'index.mjs': NODE_ECHO }), runtime = 'nodejs20.x', ...extra } = {}) {
  const out = await send(new lambda.CreateFunctionCommand({
    FunctionName: name, Runtime: runtime, Handler: 'index.handler', Role: roleArn, Code: { ZipFile: code }, ...extra,
  }));
  await lambda.waitUntilFunctionActiveV2({ client, maxWaitTime: 30, minDelay: 1 }, { FunctionName: name });
  return out;
}

const decode = (payload) => {
  const text = new TextDecoder().decode(payload);
  return text ? JSON.parse(text) : undefined;
};

async function rejects(promise, name, message, status) {
  let err;
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (message !== undefined) assert.equal(e.message, message);
    if (status !== undefined) assert.equal(e.$metadata.httpStatusCode, status);
    err = e;
    return true;
  });
  return err;
}

test('create answers Pending with the zip digest, then Active', async () => {
  const code = zip({ 'index.mjs': NODE_ECHO });
  const out = await send(new lambda.CreateFunctionCommand({
    FunctionName: 'js-fn', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: roleArn, Code: { ZipFile: code },
  }));
  assert.equal(out.$metadata.httpStatusCode, 201);
  assert.equal(out.State, 'Pending');
  assert.equal(out.StateReasonCode, 'Creating');
  assert.equal(out.CodeSha256, createHash('sha256').update(code).digest('base64'));
  assert.equal(out.CodeSize, code.length);
  assert.equal(out.FunctionArn, ARN('js-fn'));
  assert.equal(out.Timeout, 3);
  assert.equal(out.MemorySize, 128);
  assert.deepEqual(out.Architectures, ['x86_64']);
  await lambda.waitUntilFunctionActiveV2({ client, maxWaitTime: 30, minDelay: 1 }, { FunctionName: 'js-fn' });
  const cfg = await send(new lambda.GetFunctionConfigurationCommand({ FunctionName: 'js-fn' }));
  assert.equal(cfg.State, 'Active');
  assert.equal(cfg.LastUpdateStatus, 'Successful');
  const got = await send(new lambda.GetFunctionCommand({ FunctionName: 'js-fn' }));
  const zipBack = Buffer.from(await (await fetch(got.Code.Location)).arrayBuffer());
  assert.ok(zipBack.equals(code));
  await rejects(send(new lambda.CreateFunctionCommand({
    FunctionName: 'js-fn', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: roleArn, Code: { ZipFile: code },
  })), 'ResourceConflictException', 'Function already exist: js-fn', 409);
});

test('invoke RequestResponse: payload, context, log tail, request id', async () => {
  await create('js-echo', {
    code: zip({ 'index.mjs': NODE_ECHO.replace('export const handler = async (event, context) => (',
      'export const handler = async (event, context) => (console.log("from node", event.n), ') }),
  });
  const out = await send(new lambda.InvokeCommand({
    FunctionName: 'js-echo', Payload: JSON.stringify({ n: 7 }), LogType: 'Tail',
  }));
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined);
  assert.equal(out.ExecutedVersion, '$LATEST');
  const body = decode(out.Payload);
  assert.deepEqual(body.event, { n: 7 });
  assert.equal(body.version, '$LATEST');
  assert.equal(body.requestId, out.$metadata.requestId);
  const log = Buffer.from(out.LogResult, 'base64').toString();
  assert.match(log, new RegExp(`^START RequestId: ${out.$metadata.requestId} Version: \\$LATEST$`, 'm'));
  assert.match(log, /from node 7/);
  assert.match(log, new RegExp(`REPORT RequestId: ${out.$metadata.requestId}\\t`));
});

test('invoke Event answers 202 and the function runs; DryRun answers 204', async () => {
  const { QueueUrl } = await sqsClient.send(new sqs.CreateQueueCommand({ QueueName: 'js-side-effects' }));
  await create('js-async', {
    runtime: 'python3.12', Timeout: 10, Environment: { Variables: { QUEUE_URL: QueueUrl } },
    code: zip({
      'index.py': [
        'import boto3, json, os',
        'def handler(event, context):',
        '    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))',
        '',
      ].join('\n'),
    }),
  });
  const out = await send(new lambda.InvokeCommand({
    FunctionName: 'js-async', InvocationType: 'Event', Payload: JSON.stringify({ id: 'evt-1' }),
  }));
  assert.equal(out.StatusCode, 202);
  assert.equal(out.Payload?.length ?? 0, 0);
  const got = await sqsClient.send(new sqs.ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 15 }));
  assert.deepEqual(got.Messages.map((m) => JSON.parse(m.Body)), [{ id: 'evt-1' }]);
  const dry = await send(new lambda.InvokeCommand({ FunctionName: 'js-async', InvocationType: 'DryRun' }));
  assert.equal(dry.StatusCode, 204);
  await rejects(send(new lambda.InvokeCommand({ FunctionName: 'js-nothere', InvocationType: 'DryRun' })),
    'ResourceNotFoundException', `Function not found: ${ARN('js-nothere')}`, 404);
});

test('event invoke config: a failing event retried on the server clock, its record to an SQS destination', async () => {
  const { QueueUrl } = await sqsClient.send(new sqs.CreateQueueCommand({ QueueName: 'js-failures' }));
  const dest = `arn:aws:sqs:us-east-1:${ACCOUNT}:js-failures`;
  await create('js-fails', {
    code: zip({ 'index.mjs': 'export const handler = async (e) => { throw new Error(`no ${e.id}`); };\n' }),
  });
  const put = await send(new lambda.PutFunctionEventInvokeConfigCommand({
    FunctionName: 'js-fails', MaximumRetryAttempts: 1, DestinationConfig: { OnFailure: { Destination: dest } },
  }));
  assert.equal(put.FunctionArn, ARN('js-fails', '$LATEST'));
  assert.ok(put.LastModified instanceof Date);
  const got = await send(new lambda.GetFunctionEventInvokeConfigCommand({ FunctionName: 'js-fails' }));
  assert.deepEqual(got.DestinationConfig, { OnSuccess: {}, OnFailure: { Destination: dest } });
  const out = await send(new lambda.InvokeCommand({
    FunctionName: 'js-fails', InvocationType: 'Event', Payload: JSON.stringify({ id: 'e-7' }),
  }));
  assert.equal(out.StatusCode, 202);
  const first = await sqsClient.send(new sqs.ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 3 }));
  assert.equal(first.Messages, undefined, 'the one retry waits a minute of server time');
  assert.equal((await kyoka.advance(61)).status, 200);
  const rec = await sqsClient.send(new sqs.ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }));
  const record = JSON.parse(rec.Messages[0].Body);
  assert.equal(record.requestContext.condition, 'RetriesExhausted');
  assert.equal(record.requestContext.approximateInvokeCount, 2);
  assert.deepEqual(record.requestPayload, { id: 'e-7' });
  assert.equal(record.responseContext.functionError, 'Unhandled');
  assert.equal(record.responsePayload.errorMessage, 'no e-7');
  const list = await send(new lambda.ListFunctionEventInvokeConfigsCommand({ FunctionName: 'js-fails' }));
  assert.equal(list.FunctionEventInvokeConfigs.length, 1);
  await send(new lambda.DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'js-fails' }));
  await rejects(send(new lambda.GetFunctionEventInvokeConfigCommand({ FunctionName: 'js-fails' })),
    'ResourceNotFoundException', `The function ${ARN('js-fails')}:$LATEST doesn't have an EventInvokeConfig`, 404);
});

test('event source mapping: ScalingConfig, FIFO order under MaximumConcurrency 10 with one failing group', async () => {
  const src = (await sqsClient.send(new sqs.CreateQueueCommand({
    QueueName: 'js-src.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '30' },
  }))).QueueUrl;
  const seen = (await sqsClient.send(new sqs.CreateQueueCommand({ QueueName: 'js-seen' }))).QueueUrl;
  await create('js-fifo', {
    Environment: { Variables: { SEEN_URL: seen } },
    code: zip({
      'index.mjs': [
        "import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';",
        'const sqs = new SQSClient({});',
        'export const handler = async (event) => {',
        '  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.SEEN_URL, MessageBody: JSON.stringify(event) }));',
        "  return { batchItemFailures: event.Records.filter((r) => r.body.startsWith('fail')).map((r) => ({ itemIdentifier: r.messageId })) };",
        '};',
        '',
      ].join('\n'),
    }),
  });
  for (const [g, b] of [['a', 'a1'], ['a', 'fail-a2'], ['a', 'a3'], ['b', 'b1'], ['b', 'b2'], ['c', 'c1']]) {
    await sqsClient.send(new sqs.SendMessageCommand({ QueueUrl: src, MessageBody: b, MessageGroupId: g }));
  }
  const made = await send(new lambda.CreateEventSourceMappingCommand({
    EventSourceArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:js-src.fifo`, FunctionName: 'js-fifo', BatchSize: 10,
    FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 10 },
  }));
  assert.equal(made.State, 'Creating');
  assert.deepEqual(made.ScalingConfig, { MaximumConcurrency: 10 });
  const groups = {};
  let records = 0;
  const deadline = Date.now() + 30000;
  while (records < 6 && Date.now() < deadline) {
    const got = await sqsClient.send(new sqs.ReceiveMessageCommand({ QueueUrl: seen, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
    for (const m of got.Messages ?? []) {
      for (const r of JSON.parse(m.Body).Records) {
        (groups[r.attributes.MessageGroupId] ??= []).push(r.body);
        records++;
      }
      await sqsClient.send(new sqs.DeleteMessageCommand({ QueueUrl: seen, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  assert.deepEqual(groups, { a: ['a1', 'fail-a2', 'a3'], b: ['b1', 'b2'], c: ['c1'] });
  // The failed group's rest waits for the visibility timeout; the others are done.
  await new Promise((r) => setTimeout(r, 500));
  const attrs = (await sqsClient.send(new sqs.GetQueueAttributesCommand({ QueueUrl: src, AttributeNames: ['All'] }))).Attributes;
  assert.equal(attrs.ApproximateNumberOfMessagesNotVisible, '2');
  const listed = await send(new lambda.ListEventSourceMappingsCommand({ FunctionName: 'js-fifo' }));
  assert.deepEqual(listed.EventSourceMappings.map((m) => m.UUID), [made.UUID]);
  await rejects(send(new lambda.CreateEventSourceMappingCommand({
    EventSourceArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:js-src.fifo`, FunctionName: 'js-fifo', ScalingConfig: { MaximumConcurrency: 1 },
  })), 'ValidationException', undefined, 400);
  await send(new lambda.DeleteEventSourceMappingCommand({ UUID: made.UUID }));
});

test('function errors come back in the payload with FunctionError', async () => {
  await create('js-throws', {
    code: zip({ 'index.js': "exports.handler = async (e) => { throw new RangeError('out of range: ' + e.v); };\n" }),
  });
  const out = await send(new lambda.InvokeCommand({ FunctionName: 'js-throws', Payload: '{"v": 11}' }));
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, 'Unhandled');
  const body = decode(out.Payload);
  assert.equal(body.errorType, 'RangeError');
  assert.equal(body.errorMessage, 'out of range: 11');
  assert.ok(Array.isArray(body.trace));
  await create('js-slow', {
    Timeout: 1,
    code: zip({ 'index.js': 'exports.handler = () => new Promise((r) => setTimeout(r, 3000));\n' }),
  });
  const slow = await send(new lambda.InvokeCommand({ FunctionName: 'js-slow' }));
  assert.equal(slow.FunctionError, 'Unhandled');
  assert.match(decode(slow.Payload).errorMessage, /Task timed out after 1\.00 seconds/);
});

test('versions and a weighted alias route invocations', async () => {
  await create('js-alias');
  const v1 = await send(new lambda.PublishVersionCommand({ FunctionName: 'js-alias' }));
  assert.equal(v1.Version, '1');
  await send(new lambda.UpdateFunctionConfigurationCommand({ FunctionName: 'js-alias', Description: 'second' }));
  await lambda.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30, minDelay: 1 }, { FunctionName: 'js-alias' });
  const v2 = await send(new lambda.PublishVersionCommand({ FunctionName: 'js-alias' }));
  assert.equal(v2.Version, '2');
  const alias = await send(new lambda.CreateAliasCommand({
    FunctionName: 'js-alias', Name: 'live', FunctionVersion: '1',
    RoutingConfig: { AdditionalVersionWeights: { 2: 0.5 } },
  }));
  assert.equal(alias.AliasArn, ARN('js-alias', 'live'));
  assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: { 2: 0.5 } });
  const seen = new Set();
  for (let i = 0; i < 40; i++) {
    const out = await send(new lambda.InvokeCommand({ FunctionName: 'js-alias', Qualifier: 'live' }));
    assert.equal(decode(out.Payload).version, out.ExecutedVersion);
    seen.add(out.ExecutedVersion);
  }
  // Each of 40 draws at 0.5: both versions run but for a 2 * 0.5^40 chance.
  assert.deepEqual([...seen].sort(), ['1', '2']);
  await send(new lambda.UpdateAliasCommand({
    FunctionName: 'js-alias', Name: 'live', FunctionVersion: '2', RoutingConfig: { AdditionalVersionWeights: {} },
  }));
  const out = await send(new lambda.InvokeCommand({ FunctionName: ARN('js-alias', 'live') }));
  assert.equal(out.ExecutedVersion, '2');
  const aliases = await send(new lambda.ListAliasesCommand({ FunctionName: 'js-alias' }));
  assert.deepEqual(aliases.Aliases.map((a) => [a.Name, a.FunctionVersion]), [['live', '2']]);
  await send(new lambda.DeleteAliasCommand({ FunctionName: 'js-alias', Name: 'live' }));
  await rejects(send(new lambda.GetAliasCommand({ FunctionName: 'js-alias', Name: 'live' })),
    'ResourceNotFoundException', `Cannot find alias arn: ${ARN('js-alias', 'live')}`, 404);
  await rejects(send(new lambda.InvokeCommand({ FunctionName: 'js-alias', Qualifier: 'live' })),
    'ResourceNotFoundException', undefined, 404);
});

test('errors: not found, bad parameters, throttling, payload too large', async () => {
  await rejects(send(new lambda.GetFunctionCommand({ FunctionName: 'js-missing' })),
    'ResourceNotFoundException', `Function not found: ${ARN('js-missing')}`, 404);
  await rejects(send(new lambda.CreateFunctionCommand({
    FunctionName: 'js-bad', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: roleArn,
    Code: { ZipFile: Buffer.from('not a zip') },
  })), 'InvalidParameterValueException',
  'Could not unzip uploaded file. Please check your file, then try to upload again.', 400);
  await rejects(send(new lambda.CreateFunctionCommand({
    FunctionName: 'js-bad', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: roleArn, MemorySize: 64,
    Code: { ZipFile: zip({ 'index.mjs': NODE_ECHO }) },
  })), 'ValidationException');
  assert.deepEqual((await send(new lambda.ListFunctionsCommand({}))).Functions, []);
  await create('js-throttled');
  await send(new lambda.PutFunctionConcurrencyCommand({ FunctionName: 'js-throttled', ReservedConcurrentExecutions: 0 }));
  const err = await rejects(send(new lambda.InvokeCommand({ FunctionName: 'js-throttled' })),
    'TooManyRequestsException', 'Rate Exceeded.', 429);
  assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
  await send(new lambda.DeleteFunctionConcurrencyCommand({ FunctionName: 'js-throttled' }));
  await rejects(send(new lambda.InvokeCommand({
    FunctionName: 'js-throttled', Payload: JSON.stringify('x'.repeat(6 * 1024 * 1024)),
  })), 'RequestEntityTooLargeException',
  'Request must be smaller than 6291456 bytes for the InvokeFunction operation', 413);
  const ok = await send(new lambda.InvokeCommand({ FunctionName: 'js-throttled', Payload: '{"fine": true}' }));
  assert.deepEqual(decode(ok.Payload).event, { fine: true });
  await send(new lambda.DeleteFunctionCommand({ FunctionName: 'js-throttled' }));
  await rejects(send(new lambda.InvokeCommand({ FunctionName: 'js-throttled' })), 'ResourceNotFoundException',
    `Function not found: ${ARN('js-throttled')}`, 404);
});
