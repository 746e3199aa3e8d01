// The peer: @cloud-copilot/iam-simulate, fed the same case kyoka_decide reads.
// Shared by the differential test and bench/iam_peer_bench.mjs.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const HERE = join(dirname(fileURLToPath(import.meta.url)), '..')
export const PEER_DIR = join(HERE, 'node_modules', '@cloud-copilot', 'iam-simulate')
export const PEER_ABSENT_MESSAGE =
  'peer absent: run npm ci in tests/integration/35-iam-differential (scripts/install-deps.sh test does it)'

export function peerPresent() {
  return existsSync(join(PEER_DIR, 'package.json'))
}

export function peerVersion() {
  return JSON.parse(readFileSync(join(PEER_DIR, 'package.json'), 'utf8')).version
}

let lib = null
export async function loadPeer() {
  if (!lib) lib = await import(join(PEER_DIR, 'dist', 'esm', 'index.js'))
  return lib
}

const RESULT = { Allowed: 'allowed', ImplicitlyDenied: 'implicitDeny', ExplicitlyDenied: 'explicitDeny' }

// The peer's Simulation for one case: identity policies, boundary, resource
// policy, and the request. The peer takes a principal ARN (or a service
// name) and derives nothing else from it, which is why cases carry the
// derived keys in their context.
export function toSimulation(c, anonymousPrincipal) {
  return {
    request: {
      principal: c.principal === null ? anonymousPrincipal : c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resourceAccount },
      contextVariables: c.context ?? {}
    },
    identityPolicies: (c.identity ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
    permissionBoundaryPolicies: c.boundary ? [{ name: 'boundary', policy: c.boundary }] : undefined,
    sessionPolicy: c.session?.length ? c.session[0] : undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: c.resourcePolicy ?? undefined
  }
}

// Decide one case with the peer: {decision} or {error} (the peer refused
// the input: invalid policy, unknown action, context key it does not accept).
export async function peerDecide(c) {
  const { runSimulation, anonymousPrincipal } = await loadPeer()
  const res = await runSimulation(toSimulation(c, anonymousPrincipal), {})
  if (res.resultType === 'error') return { error: res.errors?.message ?? 'error', details: res.errors }
  if (res.resultType !== 'single') return { error: `unexpected result type ${res.resultType}` }
  const ignored = res.result.ignoredContextKeys ?? []
  if (ignored.length) return { error: `peer ignored context keys ${ignored.join(', ')}` }
  return { decision: RESULT[res.overallResult] ?? res.overallResult }
}
