// Foundation through the AWS SDK for JavaScript v3: GetCallerIdentity as
// root, and the exact error names for a wrong secret and an unknown key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kyoka, sts } from '../../js/harness.mjs';

const kyoka = new Kyoka();
before(async () => { await kyoka.start(); });
after(async () => { assert.equal(await kyoka.stop(), 0); });

test('GetCallerIdentity as root', async () => {
  const client = new sts.STSClient(kyoka.config());
  const out = await client.send(new sts.GetCallerIdentityCommand({}));
  assert.equal(out.Account, '000000000000');
  assert.equal(out.Arn, 'arn:aws:iam::000000000000:root');
});

test('wrong secret is SignatureDoesNotMatch', async () => {
  const client = new sts.STSClient(kyoka.config({ credentials: { accessKeyId: 'test', secretAccessKey: 'bad' } }));
  await assert.rejects(client.send(new sts.GetCallerIdentityCommand({})), (e) => {
    assert.equal(e.name, 'SignatureDoesNotMatch');
    assert.equal(e.$metadata.httpStatusCode, 403);
    return true;
  });
});

test('unknown key is InvalidClientTokenId', async () => {
  const client = new sts.STSClient(kyoka.config({ credentials: { accessKeyId: 'AKIANOPE000000000000', secretAccessKey: 'x' } }));
  await assert.rejects(client.send(new sts.GetCallerIdentityCommand({})), (e) => {
    assert.equal(e.name, 'InvalidClientTokenId');
    assert.match(e.message, /security token included in the request is invalid/);
    return true;
  });
});
