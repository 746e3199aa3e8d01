// S3 through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), which
// by default sends a CRC32 checksum with every upload: as an aws-chunked
// body with the checksum in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
// for streams, as an x-amz-checksum-crc32 header for buffers. The object
// must hold the payload, never the chunk framing.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { randomBytes, createHash } from 'node:crypto';
import { Kyoka } from '../../js/harness.mjs';

const require = createRequire(new URL('../../js/harness.mjs', import.meta.url));
const s3sdk = require('@aws-sdk/client-s3');

let k, s3;
before(async () => {
  k = await new Kyoka().start();
  s3 = new s3sdk.S3Client(k.config({ forcePathStyle: true }));
});
after(async () => { s3?.destroy(); await k?.stop(); });
beforeEach(async () => {
  await k.reset();
  await s3.send(new s3sdk.CreateBucketCommand({ Bucket: 'js-bucket' }));
});

const bodyOf = async (r) => Buffer.from(await r.Body.transformToByteArray());

test('buffer upload with the default CRC32 header', async () => {
  const data = Buffer.from('hello from the v3 sdk');
  const put = await s3.send(new s3sdk.PutObjectCommand({ Bucket: 'js-bucket', Key: 'buf.txt', Body: data }));
  assert.ok(put.ChecksumCRC32, 'the SDK asked for CRC32 and kyoka answered it');
  const got = await s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-bucket', Key: 'buf.txt', ChecksumMode: 'ENABLED' }));
  assert.deepEqual(await bodyOf(got), data);
  assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
});

test('streamed upload: aws-chunked with a CRC32 trailer', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 5);
  const stream = Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]);
  const put = await s3.send(new s3sdk.PutObjectCommand({
    Bucket: 'js-bucket', Key: 'stream.bin', Body: stream, ContentLength: data.length,
  }));
  assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
  const head = await s3.send(new s3sdk.HeadObjectCommand({ Bucket: 'js-bucket', Key: 'stream.bin' }));
  assert.equal(head.ContentLength, data.length);
  assert.equal(head.ContentEncoding, undefined, 'aws-chunked is framing, not the object encoding');
  const got = await s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-bucket', Key: 'stream.bin' }));
  assert.deepEqual(await bodyOf(got), data);
});

test('listing, ranges, delete and errors as modelled exceptions', async () => {
  for (const key of ['a/1', 'a/2', 'b']) {
    await s3.send(new s3sdk.PutObjectCommand({ Bucket: 'js-bucket', Key: key, Body: key }));
  }
  const list = await s3.send(new s3sdk.ListObjectsV2Command({ Bucket: 'js-bucket', Delimiter: '/' }));
  assert.deepEqual(list.Contents.map((o) => o.Key), ['b']);
  assert.deepEqual(list.CommonPrefixes.map((p) => p.Prefix), ['a/']);
  const part = await s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-bucket', Key: 'a/1', Range: 'bytes=1-' }));
  assert.equal((await bodyOf(part)).toString(), '/1');
  const del = await s3.send(new s3sdk.DeleteObjectsCommand({
    Bucket: 'js-bucket', Delete: { Objects: [{ Key: 'a/1' }, { Key: 'a/2' }] },
  }));
  assert.equal(del.Deleted.length, 2);
  await assert.rejects(
    s3.send(new s3sdk.GetObjectCommand({ Bucket: 'js-bucket', Key: 'a/1' })),
    (e) => e.name === 'NoSuchKey' && e.$metadata.httpStatusCode === 404);
  await assert.rejects(
    s3.send(new s3sdk.DeleteBucketCommand({ Bucket: 'js-bucket' })),
    (e) => e.name === 'BucketNotEmpty');
});
