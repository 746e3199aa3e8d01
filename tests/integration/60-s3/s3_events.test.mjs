// S3 versioning, notifications to a queue and CORS through the AWS SDK for
// JavaScript v3 (@aws-sdk/client-s3 with its default CRC32 checksums).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Kyoka } from '../../js/harness.mjs';

const require = createRequire(new URL('../../js/harness.mjs', import.meta.url));
const s3sdk = require('@aws-sdk/client-s3');
const sqssdk = require('@aws-sdk/client-sqs');

let k, s3, sqs;
before(async () => {
  k = await new Kyoka().start();
  s3 = new s3sdk.S3Client(k.config({ forcePathStyle: true }));
  sqs = new sqssdk.SQSClient(k.config());
});
after(async () => { s3?.destroy(); sqs?.destroy(); await k?.stop(); });
beforeEach(async () => {
  await k.reset();
  await s3.send(new s3sdk.CreateBucketCommand({ Bucket: 'js-events' }));
});

const text = async (r) => Buffer.from(await r.Body.transformToByteArray()).toString();

test('versions, delete markers and ListObjectVersions', async () => {
  await s3.send(new s3sdk.PutBucketVersioningCommand({
    Bucket: 'js-events', VersioningConfiguration: { Status: 'Enabled' } }));
  const v1 = (await s3.send(new s3sdk.PutObjectCommand({ Bucket: 'js-events', Key: 'k', Body: 'one' }))).VersionId;
  const v2 = (await s3.send(new s3sdk.PutObjectCommand({ Bucket: 'js-events', Key: 'k', Body: 'two' }))).VersionId;
  assert.ok(v1 && v2 && v1 !== v2);
  assert.equal(await text(await s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-events', Key: 'k', VersionId: v1 }))),
    'one');
  const del = await s3.send(new s3sdk.DeleteObjectCommand({ Bucket: 'js-events', Key: 'k' }));
  assert.equal(del.DeleteMarker, true);
  await assert.rejects(s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-events', Key: 'k' })),
    (e) => e.name === 'NoSuchKey');
  const lv = await s3.send(new s3sdk.ListObjectVersionsCommand({ Bucket: 'js-events' }));
  assert.deepEqual(lv.Versions.map((v) => v.VersionId), [v2, v1]);
  assert.equal(lv.DeleteMarkers[0].VersionId, del.VersionId);
  assert.equal(lv.DeleteMarkers[0].IsLatest, true);
});

test('a queue notification in the event record format', async () => {
  const { QueueUrl } = await sqs.send(new sqssdk.CreateQueueCommand({ QueueName: 'js-events' }));
  const arn = (await sqs.send(new sqssdk.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
    .Attributes.QueueArn;
  const conf = { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:Put'] }] };
  await assert.rejects(s3.send(new s3sdk.PutBucketNotificationConfigurationCommand({
    Bucket: 'js-events', NotificationConfiguration: conf })),
  (e) => e.name === 'InvalidArgument' && e.message === 'Unable to validate the following destination configurations');
  await sqs.send(new sqssdk.SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage', Resource: arn,
      Condition: { StringEquals: { 'aws:SourceAccount': '000000000000' } } }] }) } }));
  await s3.send(new s3sdk.PutBucketNotificationConfigurationCommand({
    Bucket: 'js-events', NotificationConfiguration: conf }));
  await s3.send(new s3sdk.PutObjectCommand({ Bucket: 'js-events', Key: 'dir/ü.txt', Body: 'hello' }));
  const records = [];
  for (let i = 0; i < 20 && records.length < 1; i++) {
    const r = await sqs.send(new sqssdk.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of r.Messages ?? []) {
      const doc = JSON.parse(m.Body);
      if (doc.Records) records.push(doc.Records[0]);
    }
  }
  assert.equal(records.length, 1);
  assert.equal(records[0].eventName, 'ObjectCreated:Put');
  assert.equal(records[0].s3.object.key, 'dir/%C3%BC.txt');
  assert.equal(records[0].s3.object.size, 5);
});
