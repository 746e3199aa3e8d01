// IAM and STS through the AWS SDK for JavaScript v3: create a role, assume
// it, call as the session, and the SDK's modelled error classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kyoka, iam, sts } from '../../js/harness.mjs';

const kyoka = new Kyoka();
before(async () => { await kyoka.start(); });
after(async () => { assert.equal(await kyoka.stop(), 0); });

const ACCOUNT = '000000000000';
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }],
});

test('CreateRole, AssumeRole, GetCallerIdentity as the session', async () => {
  const client = new iam.IAMClient(kyoka.config());
  const created = await client.send(new iam.CreateRoleCommand({ RoleName: 'js-role', AssumeRolePolicyDocument: trust }));
  assert.match(created.Role.RoleId, /^AROA[A-Z0-9]{17}$/);
  assert.equal(created.Role.Arn, `arn:aws:iam::${ACCOUNT}:role/js-role`);
  assert.ok(created.Role.CreateDate instanceof Date);
  // IAM returns policy documents URL-encoded; SDK v3 leaves them so.
  const got = await client.send(new iam.GetRoleCommand({ RoleName: 'js-role' }));
  assert.deepEqual(JSON.parse(decodeURIComponent(got.Role.AssumeRolePolicyDocument)), JSON.parse(trust));

  const root = new sts.STSClient(kyoka.config());
  const out = await root.send(new sts.AssumeRoleCommand({
    RoleArn: created.Role.Arn, RoleSessionName: 'js-session', DurationSeconds: 900,
  }));
  assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
  assert.ok(out.Credentials.Expiration instanceof Date);
  const left = (out.Credentials.Expiration.getTime() - Date.now()) / 1000;
  assert.ok(left > 880 && left <= 910, `expiration in ${left} s`);
  assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/js-role/js-session`);
  assert.equal(out.AssumedRoleUser.AssumedRoleId, `${created.Role.RoleId}:js-session`);

  const session = new sts.STSClient(kyoka.config({
    credentials: {
      accessKeyId: out.Credentials.AccessKeyId,
      secretAccessKey: out.Credentials.SecretAccessKey,
      sessionToken: out.Credentials.SessionToken,
    },
  }));
  const me = await session.send(new sts.GetCallerIdentityCommand({}));
  assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/js-role/js-session`);
  assert.equal(me.UserId, `${created.Role.RoleId}:js-session`);
  assert.equal(me.Account, ACCOUNT);

  // The session has no policies: IAM refuses it, with AWS's text.
  const sessionIam = new iam.IAMClient(kyoka.config({
    credentials: {
      accessKeyId: out.Credentials.AccessKeyId,
      secretAccessKey: out.Credentials.SecretAccessKey,
      sessionToken: out.Credentials.SessionToken,
    },
  }));
  await assert.rejects(sessionIam.send(new iam.ListRolesCommand({})), (e) => {
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.equal(e.message, `User: arn:aws:sts::${ACCOUNT}:assumed-role/js-role/js-session is not authorized to `
      + `perform: iam:ListRoles on resource: arn:aws:iam::${ACCOUNT}:role/ because`
      + ' no identity-based policy allows the iam:ListRoles action');
    return true;
  });
});

test('modelled errors are the SDK exception classes', async () => {
  const client = new iam.IAMClient(kyoka.config());
  await assert.rejects(client.send(new iam.GetRoleCommand({ RoleName: 'does-not-exist' })), (e) => {
    assert.ok(e instanceof iam.NoSuchEntityException);
    assert.equal(e.name, 'NoSuchEntityException');
    assert.equal(e.message, 'The role with name does-not-exist cannot be found.');
    assert.equal(e.$metadata.httpStatusCode, 404);
    return true;
  });
  await client.send(new iam.CreateUserCommand({ UserName: 'js-user' }));
  await assert.rejects(client.send(new iam.CreateUserCommand({ UserName: 'js-user' })), (e) => {
    assert.ok(e instanceof iam.EntityAlreadyExistsException);
    assert.equal(e.message, 'User with name js-user already exists.');
    return true;
  });
  await assert.rejects(client.send(new iam.CreatePolicyCommand({ PolicyName: 'bad', PolicyDocument: '{' })), (e) => {
    assert.ok(e instanceof iam.MalformedPolicyDocumentException);
    assert.equal(e.message, 'Syntax errors in policy.');
    return true;
  });
  const root = new sts.STSClient(kyoka.config());
  await assert.rejects(root.send(new sts.AssumeRoleCommand({
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/missing`, RoleSessionName: 'x1',
  })), (e) => {
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.message, `User: arn:aws:iam::${ACCOUNT}:root is not authorized to perform: sts:AssumeRole `
      + `on resource: arn:aws:iam::${ACCOUNT}:role/missing`);
    return true;
  });
});
