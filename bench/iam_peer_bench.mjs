#!/usr/bin/env node
// The peer's side of make bench's IAM figures: the scenario set of
// bench/iam_scenarios.json (the one bench/iam_bench.c times for kyoka) through
// @cloud-copilot/iam-simulate, installed for the differential test in
// tests/integration/35-iam-differential (scripts/install-deps.sh runs npm ci
// there).
//
// Two figures: runSimulation, the peer's public entry point (it validates
// and loads the policies and the request on every call), and the peer's
// evaluator alone (authorize from its core engine) over policies loaded
// once and requests built once, which is what kyoka's figure measures:
// compile once, then evaluate. (runUnsafeSimulation would skip validation
// too, but in 0.1.173 it fails on any resource-based policy: it loads that
// policy without the metadata its evaluator reads.) For each, samples of a few hundred decisions
// of one scenario are timed; decisions_per_s is all decisions over all time,
// median_ns the median sample's time per decision. Before timing, every
// scenario's decision is checked against its "expect".
//
//   node bench/iam_peer_bench.mjs [scenarios.json] [seconds per figure, default 2]
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const DIFF = join(HERE, '..', 'tests', 'integration', '35-iam-differential')
const { peerPresent, peerVersion, loadPeer, toSimulation } = await import(join(DIFF, 'lib', 'peer.mjs'))

const path = process.argv[2] ?? join(HERE, 'iam_scenarios.json')
const seconds = Number(process.argv[3] ?? 2) || 2
const BATCH = 200

if (!peerPresent()) {
  console.log('iam-simulate (peer): peer absent (run npm ci in tests/integration/35-iam-differential)')
  process.exit(0)
}
const { runSimulation, anonymousPrincipal } = await loadPeer()
const PEER = join(DIFF, 'node_modules', '@cloud-copilot')
const { loadPolicy } = await import(join(PEER, 'iam-policy', 'dist', 'esm', 'index.js'))
const { authorize } = await import(join(PEER, 'iam-simulate', 'dist', 'esm', 'core_engine', 'CoreSimulatorEngine.js'))
const { AwsRequestImpl } = await import(join(PEER, 'iam-simulate', 'dist', 'esm', 'request', 'request.js'))
const { RequestContextImpl } = await import(join(PEER, 'iam-simulate', 'dist', 'esm', 'requestContext.js'))
const { DiscoveryContextKeyConstraints } = await import(
  join(PEER, 'iam-simulate', 'dist', 'esm', 'context_keys', 'discoveryContextKeyConstraints.js')
)

// The peer's evaluator over a scenario prepared once, the way its own
// runSimulation calls it after validation.
function prepare(sim) {
  const load = (policy, name) => loadPolicy(policy, { name })
  const args = {
    request: new AwsRequestImpl(sim.request.principal, sim.request.resource, sim.request.action, new RequestContextImpl(sim.request.contextVariables), false),
    sessionPolicy: undefined,
    identityPolicies: sim.identityPolicies.map((p) => load(p.policy, p.name)),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: sim.resourcePolicy ? load(sim.resourcePolicy, 'resource') : undefined,
    permissionBoundaries: sim.permissionBoundaryPolicies?.map((p) => load(p.policy, p.name)),
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: { blockPublicAccess: undefined } }
  }
  return () => authorize(args).result
}

// ---- the scenarios, as kyoka_decide cases ----

// The keys kyoka's server derives from the caller for every request; the
// peer derives none, so they are written into its request context.
function derivedContext(principal, account) {
  const ctx = {
    'aws:ViaAWSService': 'false',
    'aws:CurrentTime': '2023-11-14T22:13:20Z',
    'aws:EpochTime': '1700000000',
    'aws:PrincipalIsAWSService': principal && !principal.startsWith('arn:') ? 'true' : 'false'
  }
  if (!principal) return ctx
  if (!principal.startsWith('arn:')) return { ...ctx, 'aws:PrincipalServiceName': principal }
  const [, part, , , acct, res] = principal.split(':')
  ctx['aws:PrincipalAccount'] = account
  if (res === 'root') return { ...ctx, 'aws:PrincipalArn': principal, 'aws:PrincipalType': 'Account' }
  if (res.startsWith('user/')) {
    return { ...ctx, 'aws:PrincipalArn': principal, 'aws:PrincipalType': 'User', 'aws:username': res.split('/').pop() }
  }
  if (res.startsWith('assumed-role/')) {
    const role = res.split('/')[1]
    return { ...ctx, 'aws:PrincipalArn': `arn:${part}:iam::${acct}:role/${role}`, 'aws:PrincipalType': 'AssumedRole' }
  }
  return { ...ctx, 'aws:PrincipalArn': principal }
}

const file = JSON.parse(readFileSync(path, 'utf8'))
const scenarios = file.scenarios.map((s) => {
  const who = file.principals[s.as]
  const policy = (name) => {
    if (!(name in file.policies)) throw new Error(`no policy named ${name}`)
    return file.policies[name]
  }
  const c = {
    identity: who.identity.map(policy),
    boundary: who.boundary ? policy(who.boundary) : null,
    resourcePolicy: s.resourcePolicy ? policy(s.resourcePolicy) : null,
    principal: who.principal,
    principalAccount: who.principalAccount,
    action: s.action,
    resource: s.resource,
    resourceAccount: s.resourceAccount ?? file.resourceAccount,
    context: { ...derivedContext(who.principal, who.principalAccount), ...(who.context ?? {}), ...(s.context ?? {}) }
  }
  const sim = toSimulation(c, anonymousPrincipal)
  return { name: s.name, expect: s.expect, sim, prepared: prepare(sim) }
})

const RESULT = { Allowed: 'allowed', ImplicitlyDenied: 'implicitDeny', ExplicitlyDenied: 'explicitDeny' }

// ---- check, then time ----

let wrong = 0
for (const s of scenarios) {
  const res = await runSimulation(s.sim, {})
  const got = res.resultType === 'error' ? `error ${res.errors?.message}` : RESULT[res.overallResult]
  const prepared = RESULT[s.prepared()]
  if (got !== s.expect || prepared !== s.expect) {
    console.log(`iam-simulate (peer): scenario "${s.name}": runSimulation says ${got}, its evaluator ${prepared}, expected ${s.expect}`)
    wrong++
  }
}

async function measure(label, decide) {
  // decide may return a promise (runSimulation) or not (the evaluator);
  // awaiting only promises keeps the synchronous figure free of microtasks.
  const once = async (s) => {
    const r = decide(s)
    if (r instanceof Promise) await r
  }
  for (const s of scenarios) for (let i = 0; i < 20; i++) await once(s) // warm up
  const samples = []
  let totalNs = 0n
  let decisions = 0
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  while (process.hrtime.bigint() < deadline) {
    for (const s of scenarios) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) {
        const r = decide(s)
        if (r instanceof Promise) await r
      }
      const ns = process.hrtime.bigint() - t0
      samples.push(Number(ns) / BATCH)
      totalNs += ns
      decisions += BATCH
    }
  }
  samples.sort((a, b) => a - b)
  const perS = decisions / (Number(totalNs) / 1e9)
  console.log(
    `${label}: decisions_per_s=${perS.toFixed(0)} median_ns=${samples[samples.length >> 1].toFixed(0)} ` +
      `p99_ns=${samples[Math.floor((samples.length * 99) / 100)].toFixed(0)} (${scenarios.length} scenarios, ${decisions} decisions)`
  )
}

await measure(`iam-simulate (peer ${peerVersion()}, runSimulation)`, (s) => runSimulation(s.sim, {}))
await measure(`iam-simulate (peer ${peerVersion()}, evaluator only, policies loaded once)`, (s) => s.prepared())
process.exit(wrong ? 1 : 0)
