// Shrink a disagreeing case to a small one that disagrees the same way:
// drop policies, statements, conditions, values and context keys one at a
// time while kyoka's decision, the peer's decision and the classification
// stay the same. What is left is the regression case worth reading.
import { classify } from './classify.mjs'
import { kyokaDecideAll } from './kyoka.mjs'

// Keys the server derives for every request: removing one would make the
// two engines see different requests (kyoka derives it, the peer would not).
const DERIVED = new Set(
  [
    'aws:SecureTransport',
    'aws:ViaAWSService',
    'aws:PrincipalIsAWSService',
    'aws:PrincipalServiceName',
    'aws:CurrentTime',
    'aws:EpochTime',
    'aws:PrincipalArn',
    'aws:PrincipalAccount',
    'aws:PrincipalType',
    'aws:username'
  ].map((k) => k.toLowerCase())
)

const clone = (x) => JSON.parse(JSON.stringify(x))

function* statementEdits(st) {
  if (st.Sid !== undefined) yield (s) => delete s.Sid
  if (st.Condition) {
    yield (s) => delete s.Condition
    for (const op of Object.keys(st.Condition)) {
      if (Object.keys(st.Condition).length > 1) yield (s) => delete s.Condition[op]
      for (const key of Object.keys(st.Condition[op])) {
        if (Object.keys(st.Condition[op]).length > 1) yield (s) => delete s.Condition[op][key]
        const v = st.Condition[op][key]
        if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield (s) => (s.Condition[op][key] = v[i])
      }
    }
  }
  for (const el of ['Action', 'NotAction', 'Resource', 'NotResource'])
    if (Array.isArray(st[el])) for (let i = 0; i < st[el].length; i++) yield (s) => (s[el] = st[el][i])
  for (const el of ['Principal', 'NotPrincipal']) {
    const p = st[el]
    if (p && typeof p === 'object')
      for (const t of Object.keys(p))
        if (Array.isArray(p[t])) for (let i = 0; i < p[t].length; i++) yield (s) => (s[el][t] = p[t][i])
  }
}

// Every one-step reduction of a case.
function candidates(c) {
  const out = []
  const push = (fn) => {
    const n = clone(c)
    fn(n)
    out.push(n)
  }
  for (let i = 0; i < (c.identity ?? []).length; i++) push((n) => n.identity.splice(i, 1))
  if (c.boundary) push((n) => (n.boundary = null))
  if ((c.session ?? []).length) push((n) => (n.session = []))
  if (c.resourcePolicy) push((n) => (n.resourcePolicy = null))
  const slots = [
    ...(c.identity ?? []).map((_, i) => (n) => n.identity[i]),
    ...(c.boundary ? [(n) => n.boundary] : []),
    ...(c.session ?? []).map((_, i) => (n) => n.session[i]),
    ...(c.resourcePolicy ? [(n) => n.resourcePolicy] : [])
  ]
  for (const get of slots) {
    const pol = get(c)
    const sts = [pol.Statement].flat()
    if (sts.length > 1) for (let j = 0; j < sts.length; j++) push((n) => (get(n).Statement = [get(n).Statement].flat().filter((_, k) => k !== j)))
    for (let j = 0; j < sts.length; j++)
      for (const edit of statementEdits(sts[j]))
        push((n) => {
          const p = get(n)
          if (!Array.isArray(p.Statement)) p.Statement = [p.Statement]
          edit(p.Statement[j])
        })
  }
  for (const [k, v] of Object.entries(c.context ?? {})) {
    if (!DERIVED.has(k.toLowerCase())) push((n) => delete n.context[k])
    if (Array.isArray(v) && v.length > 1) for (let i = 0; i < v.length; i++) push((n) => (n.context[k] = v.filter((_, j) => j !== i)))
  }
  return out
}

const sameClass = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

export async function shrink(bin, c, peerDecide, { maxRounds = 200 } = {}) {
  let cur = c
  const [k0] = kyokaDecideAll(bin, [cur])
  const p0 = await peerDecide(cur)
  const cls0 = await classify(cur, k0.decision, peerDecide)
  for (let round = 0; round < maxRounds; round++) {
    const cands = candidates(cur)
    if (cands.length === 0) break
    const ks = kyokaDecideAll(bin, cands)
    let next = null
    for (let i = 0; i < cands.length && !next; i++) {
      if (ks[i].error || ks[i].decision !== k0.decision) continue
      const p = await peerDecide(cands[i])
      if (p.error || p.decision !== p0.decision) continue
      if (!sameClass(await classify(cands[i], ks[i].decision, peerDecide), cls0)) continue
      next = cands[i]
    }
    if (!next) break
    cur = next
  }
  return cur
}
