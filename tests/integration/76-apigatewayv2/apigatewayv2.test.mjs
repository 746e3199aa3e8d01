// API Gateway HTTP APIs through the AWS SDK for JavaScript v3 (REST-JSON
// with lowercase wire names): quick create, routes listed back, the SDK's
// modelled BadRequestException and NotFoundException, and the invoke URL
// answering 404 {"message":"Not Found"} for a route that is not there.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import { Kyoka } from '../../js/harness.mjs';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const gwv2 = require('@aws-sdk/client-apigatewayv2');

const FN = 'arn:aws:lambda:us-east-1:000000000000:function:none';
const kyoka = new Kyoka();
let gw;
before(async () => {
  await kyoka.start();
  gw = new gwv2.ApiGatewayV2Client(kyoka.config());
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
beforeEach(async () => { assert.equal((await kyoka.reset()).status, 200); });

function get(host, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: kyoka.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('quick create, routes and errors', async () => {
  const api = await gw.send(new gwv2.CreateApiCommand({
    Name: 'js', ProtocolType: 'HTTP', Target: FN, RouteKey: 'GET /items/{id}',
  }));
  assert.equal(api.ApiId.length, 10);
  assert.equal(api.ProtocolType, 'HTTP');
  assert.ok(api.CreatedDate instanceof Date);
  const routes = await gw.send(new gwv2.GetRoutesCommand({ ApiId: api.ApiId }));
  assert.deepEqual(routes.Items.map((r) => r.RouteKey), ['GET /items/{id}']);
  const stage = await gw.send(new gwv2.GetStageCommand({ ApiId: api.ApiId, StageName: '$default' }));
  assert.equal(stage.AutoDeploy, true);
  await assert.rejects(gw.send(new gwv2.CreateRouteCommand({ ApiId: api.ApiId, RouteKey: 'GET /{a+}/b' })),
    (e) => e instanceof gwv2.BadRequestException);
  await assert.rejects(gw.send(new gwv2.GetApiCommand({ ApiId: 'nope' })),
    (e) => e instanceof gwv2.NotFoundException && e.$metadata.httpStatusCode === 404);
  const r = await get(`${api.ApiId}.execute-api.localhost.localstack.cloud:${kyoka.port}`, '/nothing');
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.body), { message: 'Not Found' });
});
