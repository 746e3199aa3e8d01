// EventBridge and EventBridge Scheduler through the AWS SDK for JavaScript
// v3 (JSON 1.1 and REST-JSON): a rule routing to a queue with an input
// transformer, the SDK's modelled errors, and a Scheduler schedule whose
// role gains sqs:SendMessage, counted on an advanced clock. The clients are
// loaded from tests/js (harness.mjs re-exports only the older ones).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Kyoka, sqs, iam } from '../../js/harness.mjs';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const eb = require('@aws-sdk/client-eventbridge');
const sch = require('@aws-sdk/client-scheduler');

const ACCOUNT = '000000000000';
const kyoka = new Kyoka();
let events, scheduler, queues, roles;
before(async () => {
  await kyoka.start();
  events = new eb.EventBridgeClient(kyoka.config());
  scheduler = new sch.SchedulerClient(kyoka.config());
  queues = new sqs.SQSClient(kyoka.config());
  roles = new iam.IAMClient(kyoka.config());
});
after(async () => { assert.equal(await kyoka.stop(), 0); });
beforeEach(async () => { assert.equal((await kyoka.reset()).status, 200); });

async function queue(name, policy) {
  const { QueueUrl } = await queues.send(new sqs.CreateQueueCommand({ QueueName: name }));
  const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
  if (policy) await queues.send(new sqs.SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: JSON.stringify(policy) } }));
  return { url: QueueUrl, arn };
}

async function drain(url, want, ms = 5000) {
  const got = [];
  const deadline = Date.now() + ms;
  while (got.length < want && Date.now() < deadline) {
    const out = await queues.send(new sqs.ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    for (const m of out.Messages ?? []) {
      got.push(m.Body);
      await queues.send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    if (got.length < want) await new Promise((r) => setTimeout(r, 50));
  }
  return got;
}

test('a rule transforms and delivers to a queue its policy allows', async () => {
  const { RuleArn } = await events.send(new eb.PutRuleCommand({ Name: 'js', EventPattern: JSON.stringify({ detail: { n: [{ numeric: ['>', 1] }] } }) }));
  const q = await queue('js-q', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:js-q`, Condition: { ArnEquals: { 'aws:SourceArn': RuleArn } } }] });
  await events.send(new eb.PutTargetsCommand({ Rule: 'js', Targets: [{ Id: 'q', Arn: q.arn, InputTransformer: { InputPathsMap: { n: '$.detail.n' }, InputTemplate: '{"n": <n>, "rule": "<aws.events.rule-name>"}' } }] }));
  const out = await events.send(new eb.PutEventsCommand({ Entries: [1, 2].map((n) => ({ Source: 'js', DetailType: 't', Detail: JSON.stringify({ n }) })) }));
  assert.equal(out.FailedEntryCount, 0);
  assert.deepEqual((await drain(q.url, 1)).map((b) => JSON.parse(b)), [{ n: 2, rule: 'js' }]);
  await assert.rejects(events.send(new eb.DescribeRuleCommand({ Name: 'nope' })), (e) => e instanceof eb.ResourceNotFoundException && e.message === 'Rule nope does not exist on EventBus default.');
  await assert.rejects(events.send(new eb.PutRuleCommand({ Name: 'bad', EventPattern: '{"a": 1}' })), (e) => e instanceof eb.InvalidEventPatternException);
});

test('a schedule whose role gains sqs:SendMessage', async () => {
  const q = await queue('sched-js');
  const { Role } = await roles.send(new iam.CreateRoleCommand({ RoleName: 'sjs', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }));
  await scheduler.send(new sch.CreateScheduleCommand({ Name: 'every5', ScheduleExpression: 'rate(5 minutes)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: q.arn, RoleArn: Role.Arn, Input: '{"hello":1}' } }));
  const got = await scheduler.send(new sch.GetScheduleCommand({ Name: 'every5' }));
  assert.equal(got.ScheduleExpression, 'rate(5 minutes)');
  assert.equal(got.Arn, `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/default/every5`);
  await kyoka.advance(600);
  assert.deepEqual(await drain(q.url, 1, 800), []);
  await roles.send(new iam.PutRolePolicyCommand({ RoleName: 'sjs', PolicyName: 'send', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: q.arn }] }) }));
  await kyoka.advance(1800);
  assert.equal((await drain(q.url, 6)).length, 6);
  await assert.rejects(scheduler.send(new sch.GetScheduleCommand({ Name: 'nope' })), (e) => e instanceof sch.ResourceNotFoundException);
});
