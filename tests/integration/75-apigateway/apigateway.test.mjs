// API Gateway REST APIs, the control plane, through the AWS SDK for
// JavaScript v3 (REST-JSON): an API with a greedy proxy resource, a MOCK
// method, a deployment and its stage, and the SDK's modelled errors
// (NotFoundException, ConflictException) with AWS's messages.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Kyoka } from '../../js/harness.mjs';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const agw = require('@aws-sdk/client-api-gateway');

const kyoka = new Kyoka();
let client;
before(async () => {
  await kyoka.start();
  client = new agw.APIGatewayClient(kyoka.config());
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
beforeEach(async () => { assert.equal((await kyoka.reset()).status, 200); });

test('an API with a proxy resource, a MOCK method and a stage', async () => {
  const api = await client.send(new agw.CreateRestApiCommand({ name: 'js-api', tags: { t: '1' } }));
  assert.equal(api.name, 'js-api');
  assert.ok(api.createdDate instanceof Date);
  const { items } = await client.send(new agw.GetResourcesCommand({ restApiId: api.id }));
  assert.deepEqual(items.map((r) => r.path), ['/']);
  const proxy = await client.send(new agw.CreateResourceCommand({ restApiId: api.id, parentId: items[0].id, pathPart: '{proxy+}' }));
  assert.equal(proxy.path, '/{proxy+}');
  const ids = { restApiId: api.id, resourceId: proxy.id, httpMethod: 'ANY' };
  await client.send(new agw.PutMethodCommand({ ...ids, authorizationType: 'NONE', requestParameters: { 'method.request.path.proxy': true } }));
  await client.send(new agw.PutIntegrationCommand({ ...ids, type: 'MOCK', requestTemplates: { 'application/json': '{"statusCode": 200}' } }));
  await client.send(new agw.PutMethodResponseCommand({ ...ids, statusCode: '200' }));
  await client.send(new agw.PutIntegrationResponseCommand({ ...ids, statusCode: '200', responseTemplates: { 'application/json': '{}' } }));
  const method = await client.send(new agw.GetMethodCommand(ids));
  assert.equal(method.methodIntegration.type, 'MOCK');
  assert.deepEqual(method.requestParameters, { 'method.request.path.proxy': true });
  const dep = await client.send(new agw.CreateDeploymentCommand({ restApiId: api.id, stageName: 'dev' }));
  const stage = await client.send(new agw.GetStageCommand({ restApiId: api.id, stageName: 'dev' }));
  assert.equal(stage.deploymentId, dep.id);
});

test('modelled errors carry AWS codes and messages', async () => {
  await assert.rejects(client.send(new agw.GetRestApiCommand({ restApiId: 'nosuchapi0' })), (e) => {
    assert.ok(e instanceof agw.NotFoundException);
    assert.equal(e.message, 'Invalid API identifier specified 000000000000:nosuchapi0');
    assert.equal(e.$metadata.httpStatusCode, 404);
    return true;
  });
  const api = await client.send(new agw.CreateRestApiCommand({ name: 'x' }));
  const { items } = await client.send(new agw.GetResourcesCommand({ restApiId: api.id }));
  await client.send(new agw.CreateResourceCommand({ restApiId: api.id, parentId: items[0].id, pathPart: 'a' }));
  await assert.rejects(client.send(new agw.CreateResourceCommand({ restApiId: api.id, parentId: items[0].id, pathPart: 'a' })), (e) => {
    assert.ok(e instanceof agw.ConflictException);
    assert.equal(e.message, 'Another resource with the same parent already has this name: a');
    return true;
  });
  await assert.rejects(client.send(new agw.CreateDeploymentCommand({ restApiId: api.id, stageName: 'dev' })), (e) => {
    assert.ok(e instanceof agw.BadRequestException);
    assert.equal(e.message, "The REST API doesn't contain any methods");
    return true;
  });
});
