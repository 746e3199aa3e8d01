// Random IAM cases inside the grammar that kyoka and @cloud-copilot/iam-simulate
// both support: Allow/Deny; Action and NotAction with wildcards; Resource and
// NotResource ARNs with wildcards and ${aws:username}; conditions with the
// string, ARN, numeric, Bool, IP and Null operators, IfExists and the
// ForAnyValue/ForAllValues set operators over a small set of global keys;
// permissions boundaries; resource-based policies naming a user, a role, a
// role session, an account, a service or "*"; same- and cross-account calls.
//
// A case is the line kyoka_decide reads (see tests/unit/iam_differential/
// kyoka_decide.c). The request context holds every key the server would
// derive for the caller (aws:PrincipalArn, aws:PrincipalAccount, ...), since
// the peer derives none itself: both engines see the same request.
//
// Everything comes from one seeded PRNG, so a seed names a case list.

export const ACCT = '111111111111'
export const OTHER = '222222222222'

// mulberry32: small, fast, and the same sequence on every machine.
export function rng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const r = {
    next,
    chance: (p) => next() < p,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    some: (xs, lo, hi) => {
      const n = r.int(lo, Math.min(hi, xs.length))
      const pool = [...xs]
      const out = []
      for (let i = 0; i < n; i++) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0])
      return out
    }
  }
  return r
}

// ---- the world: callers, resources, actions ----

const PRINCIPALS = [
  { arn: `arn:aws:iam::${ACCT}:user/alice`, account: ACCT, type: 'User', username: 'alice', w: 5 },
  { arn: `arn:aws:iam::${ACCT}:user/bob`, account: ACCT, type: 'User', username: 'bob', w: 2 },
  { arn: `arn:aws:iam::${ACCT}:user/dev/dave`, account: ACCT, type: 'User', username: 'dave', w: 1 },
  {
    arn: `arn:aws:sts::${ACCT}:assumed-role/app/worker-1`,
    account: ACCT,
    type: 'AssumedRole',
    roleArn: `arn:aws:iam::${ACCT}:role/app`,
    w: 5
  },
  { arn: `arn:aws:iam::${OTHER}:user/carol`, account: OTHER, type: 'User', username: 'carol', w: 3 },
  {
    arn: `arn:aws:sts::${OTHER}:assumed-role/ext/job-7`,
    account: OTHER,
    type: 'AssumedRole',
    roleArn: `arn:aws:iam::${OTHER}:role/ext`,
    w: 2
  },
  { arn: `arn:aws:iam::${ACCT}:root`, account: ACCT, type: 'Account', root: true, w: 0.6 },
  { service: 'sns.amazonaws.com', w: 1 },
  { anonymous: true, w: 1 }
]

// Per service: actions (with the resource kind each takes) and resources.
const SERVICES = {
  sqs: {
    actions: ['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes', 'PurgeQueue'],
    resource: (r, acct) => `arn:aws:sqs:us-east-1:${acct}:${r.pick(['orders', 'jobs', 'orders-dlq'])}`,
    patterns: ['sqs:*', 'sqs:Send*', 'sqs:*Message', 'sqs:sendmessage', 'sqs:Get*', 'sqs:?eceiveMessage', 'sqs:Purge*'],
    resourcePolicy: true
  },
  s3: {
    actions: ['GetObject', 'PutObject', 'DeleteObject', 'ListBucket'],
    resource: (r, _acct, action) =>
      action === 'ListBucket'
        ? `arn:aws:s3:::${r.pick(['data', 'logs'])}`
        : `arn:aws:s3:::${r.pick(['data', 'logs'])}/${r.pick(['alice/notes.txt', 'bob/a.csv', 'public/logo.png', 'team/red/plan.md'])}`,
    patterns: ['s3:*', 's3:Get*', 's3:*Object', 's3:getobject', 's3:List*', 's3:?utObject', 's3:Delete*'],
    resourcePolicy: true
  },
  sns: {
    actions: ['Publish', 'Subscribe'],
    resource: (r, acct) => `arn:aws:sns:us-east-1:${acct}:${r.pick(['alerts', 'events'])}`,
    patterns: ['sns:*', 'sns:Publish', 'sns:Sub*', 'sns:publish'],
    resourcePolicy: true
  },
  lambda: {
    actions: ['InvokeFunction', 'GetFunction'],
    resource: (r, acct) => `arn:aws:lambda:us-east-1:${acct}:function:${r.pick(['worker', 'api'])}`,
    patterns: ['lambda:*', 'lambda:Invoke*', 'lambda:Get*', 'lambda:invokefunction'],
    resourcePolicy: true
  },
  dynamodb: {
    actions: ['GetItem', 'PutItem', 'Query'],
    resource: (r, acct) => `arn:aws:dynamodb:us-east-1:${acct}:table/${r.pick(['Users', 'Orders'])}`,
    patterns: ['dynamodb:*', 'dynamodb:Get*', 'dynamodb:*Item', 'dynamodb:query'],
    resourcePolicy: false
  }
}

// ---- condition keys: how the request carries them, what policies test ----

const ROLE_APP = `arn:aws:iam::${ACCT}:role/app`
const KEYS = {
  'aws:PrincipalTag/team': {
    kind: 'string',
    values: ['red', 'blue', 'Red', 'r*', 'dave'],
    patterns: ['red', 'blue', 'r*', 'RED', '${aws:username}', 'r${*}', "${aws:username, 'red'}", '?ed'],
    ops: [
      'StringEquals',
      'StringNotEquals',
      'StringLike',
      'StringNotLike',
      'StringEqualsIgnoreCase',
      'StringNotEqualsIgnoreCase',
      'ForAnyValue:StringEquals',
      'ForAllValues:StringLike'
    ]
  },
  'aws:SourceAccount': {
    kind: 'string',
    values: [ACCT, OTHER],
    patterns: [ACCT, OTHER, '1111*'],
    ops: ['StringEquals', 'StringNotEquals', 'StringLike']
  },
  'aws:SourceArn': {
    kind: 'arn',
    values: [`arn:aws:sns:us-east-1:${ACCT}:alerts`, `arn:aws:s3:::data`, `arn:aws:sns:us-east-1:${OTHER}:alerts`],
    patterns: [
      `arn:aws:sns:us-east-1:${ACCT}:alerts`,
      `arn:aws:sns:*:${ACCT}:*`,
      'arn:aws:s3:::data',
      'arn:aws:s3:::*',
      `arn:aws:sns:us-east-1:*:alert?`,
      'arn:aws:sns:*',
      `arn:aws:*:*:${ACCT}:*`
    ],
    ops: ['ArnLike', 'ArnEquals', 'ArnNotLike', 'ArnNotEquals', 'StringLike', 'StringEquals']
  },
  'aws:PrincipalArn': {
    kind: 'arn',
    derived: true,
    patterns: [
      `arn:aws:iam::${ACCT}:user/alice`,
      ROLE_APP,
      `arn:aws:iam::${ACCT}:*`,
      `arn:aws:iam::*:role/*`,
      `arn:aws:iam::${OTHER}:user/carol`,
      `arn:aws:iam::${ACCT}:user/*/dave`,
      `arn:aws:iam::${ACCT}:user/${'$'}{aws:username}`
    ],
    ops: ['ArnLike', 'ArnEquals', 'ArnNotLike', 'ArnNotEquals', 'StringEquals', 'StringLike', 'StringEqualsIgnoreCase']
  },
  'aws:PrincipalAccount': {
    kind: 'string',
    derived: true,
    patterns: [ACCT, OTHER],
    ops: ['StringEquals', 'StringNotEquals']
  },
  'aws:username': {
    kind: 'string',
    derived: true,
    patterns: ['alice', 'carol', 'a*', 'dave', '${aws:PrincipalTag/team}'],
    ops: ['StringEquals', 'StringLike', 'StringNotEquals']
  },
  'aws:SecureTransport': {
    kind: 'bool',
    derived: true,
    patterns: ['true', 'false'],
    ops: ['Bool']
  },
  'aws:MultiFactorAuthPresent': {
    kind: 'bool',
    values: ['true', 'false'],
    patterns: ['true', 'false'],
    ops: ['Bool']
  },
  'aws:MultiFactorAuthAge': {
    kind: 'number',
    values: ['30', '600', '7200', '600.5'],
    patterns: ['300', '3600', '600', '600.25', '-1'],
    ops: ['NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericEquals', 'NumericNotEquals']
  },
  'aws:SourceIp': {
    kind: 'ip',
    values: ['10.1.2.3', '192.168.1.10', '203.0.113.7', '2001:db8::1'],
    patterns: ['10.0.0.0/8', '192.168.1.10', '203.0.113.0/24', '2001:db8::/32', '192.168.0.0/16'],
    ops: ['IpAddress', 'NotIpAddress']
  },
  'aws:TagKeys': {
    kind: 'set',
    values: ['env', 'team', 'cost-center', 'owner'],
    patterns: ['env', 'team', 'cost*'],
    ops: [
      'ForAnyValue:StringEquals',
      'ForAllValues:StringEquals',
      'ForAnyValue:StringLike',
      'ForAllValues:StringLike',
      'ForAnyValue:StringNotEquals',
      'ForAllValues:StringNotLike'
    ]
  },
  'aws:CurrentTime': {
    kind: 'date',
    derived: true,
    patterns: ['2023-11-14T22:13:20Z', '2023-01-01T00:00:00Z', '2024-01-01', '1700000001', '2023-11-14T23:00:00+01:00'],
    ops: ['DateLessThan', 'DateGreaterThan', 'DateEquals', 'DateLessThanEquals', 'DateGreaterThanEquals', 'DateNotEquals']
  },
  'aws:EpochTime': {
    kind: 'date',
    derived: true,
    patterns: ['1700000000', '1600000000', '2023-12-01T00:00:00Z'],
    ops: ['DateLessThan', 'DateGreaterThan', 'DateEquals', 'NumericLessThan', 'NumericEquals']
  },
  'aws:CalledVia': {
    kind: 'set',
    values: ['cloudformation.amazonaws.com', 'athena.amazonaws.com'],
    patterns: ['cloudformation.amazonaws.com', 'athena.amazonaws.com', '*.amazonaws.com'],
    ops: ['ForAnyValue:StringEquals', 'ForAllValues:StringEquals', 'ForAnyValue:StringLike']
  }
}

function weighted(r, xs) {
  const total = xs.reduce((s, x) => s + x.w, 0)
  let v = r.next() * total
  for (const x of xs) {
    v -= x.w
    if (v < 0) return x
  }
  return xs[xs.length - 1]
}

// ---- policy pieces ----

function actionPattern(r, req) {
  const [svc] = req.action.split(':')
  if (r.chance(0.08)) return '*'
  if (r.chance(0.25)) return `${svc}:${req.action.split(':')[1]}`
  if (r.chance(0.15)) return r.pick(SERVICES[r.pick(Object.keys(SERVICES))].patterns)
  return r.pick(SERVICES[svc].patterns)
}

// A pattern for the request's resource, mostly one that could match it:
// wildcards for whole ARN parts, a '?' in the name, a trailing '*', or the
// caller's name through ${aws:username}.
function resourcePattern(r, req) {
  const arn = req.resource
  if (r.chance(0.12)) return '*'
  const parts = arn.split(':')
  const roll = r.next()
  if (roll < 0.25) return arn
  if (roll < 0.4) {
    // a wildcard for region or account
    const i = r.pick([3, 4])
    if (parts[i] === '') return arn
    const p = [...parts]
    p[i] = '*'
    return p.join(':')
  }
  if (roll < 0.55) {
    // a prefix of the whole ARN
    const cut = r.int(Math.min(arn.length - 1, 20), arn.length - 1)
    return arn.slice(0, cut) + '*'
  }
  if (roll < 0.65) {
    // one character replaced by '?'
    const i = r.int(arn.lastIndexOf(':') + 1, arn.length - 1)
    return arn.slice(0, i) + '?' + arn.slice(i + 1)
  }
  if (roll < 0.75 && arn.startsWith('arn:aws:s3:::')) {
    const bucket = arn.slice(13).split('/')[0]
    return r.pick([
      `arn:aws:s3:::${bucket}/\${aws:username}/*`,
      `arn:aws:s3:::*/public/*`,
      `arn:aws:s3:::${bucket}/*`,
      `arn:aws:s3:::${bucket}/team/\${aws:PrincipalTag/team, 'none'}/*`,
      `arn:aws:s3:::${bucket}/\${aws:username}\${*}`
    ])
  }
  if (roll < 0.85) {
    // a resource of another kind or account, usually not matching
    const svc = r.pick(Object.keys(SERVICES))
    const s = SERVICES[svc]
    return s.resource(r, r.pick([ACCT, OTHER]), r.pick(s.actions))
  }
  return parts.slice(0, 5).join(':') + ':*'
}

function conditionBlock(r, req, forResource) {
  const cond = {}
  const n = r.int(1, 2)
  for (let i = 0; i < n; i++) {
    const key = r.pick(Object.keys(KEYS))
    const spec = KEYS[key]
    let op
    let vals
    if (r.chance(0.08)) {
      op = 'Null'
      vals = r.pick(['true', 'false'])
    } else {
      op = r.pick(spec.ops)
      if (r.chance(0.15) && !op.startsWith('For')) op += 'IfExists'
      vals = r.some(spec.patterns, 1, 2)
      if (vals.length === 1 && r.chance(0.5)) vals = vals[0]
    }
    // Condition key names are case-insensitive.
    const name = r.chance(0.12) ? key.toLowerCase() : key
    cond[op] = cond[op] || {}
    cond[op][name] = vals
  }
  return cond
}

function statement(r, req, opts) {
  const st = {}
  if (r.chance(0.15)) st.Sid = `S${r.int(0, 9999)}`
  st.Effect = r.chance(opts.allowRate) ? 'Allow' : 'Deny'
  if (opts.principal) {
    if (r.chance(st.Effect === 'Deny' ? 0.06 : 0.02)) st.NotPrincipal = opts.principal(r)
    else st.Principal = opts.principal(r)
  }
  const actions = r.chance(0.3) ? [actionPattern(r, req), actionPattern(r, req)] : actionPattern(r, req)
  if (r.chance(0.1)) st.NotAction = actions
  else st.Action = actions
  const resources = r.chance(0.25) ? [resourcePattern(r, req), resourcePattern(r, req)] : resourcePattern(r, req)
  if (r.chance(0.1)) st.NotResource = resources
  else st.Resource = resources
  if (r.chance(opts.condRate)) st.Condition = conditionBlock(r, req, !!opts.principal)
  return st
}

function policy(r, req, opts) {
  const n = r.int(1, opts.maxStatements ?? 3)
  const statements = []
  for (let i = 0; i < n; i++) statements.push(statement(r, req, opts))
  // Sids must be unique within a policy.
  const seen = new Set()
  for (const st of statements) {
    if (st.Sid && seen.has(st.Sid)) delete st.Sid
    if (st.Sid) seen.add(st.Sid)
  }
  // Mostly the current language version; sometimes the old one or none,
  // where ${...} is literal text.
  const v = r.next()
  const doc = v < 0.03 ? { Version: '2008-10-17' } : v < 0.05 ? {} : { Version: '2012-10-17' }
  doc.Statement = statements.length === 1 && r.chance(0.3) ? statements[0] : statements
  return doc
}

function resourcePrincipal(r) {
  const x = r.next()
  if (x < 0.15) return '*'
  if (x < 0.2) return { AWS: '*' }
  if (x < 0.32) return { AWS: r.pick([ACCT, `arn:aws:iam::${ACCT}:root`]) }
  if (x < 0.38) return { AWS: r.pick([OTHER, `arn:aws:iam::${OTHER}:root`]) }
  if (x < 0.49) return { AWS: `arn:aws:iam::${ACCT}:user/alice` }
  if (x < 0.52) return { AWS: `arn:aws:iam::${ACCT}:user/dev/dave` }
  if (x < 0.58) return { AWS: `arn:aws:iam::${OTHER}:user/carol` }
  if (x < 0.7) return { AWS: ROLE_APP }
  if (x < 0.76) return { AWS: `arn:aws:sts::${ACCT}:assumed-role/app/worker-1` }
  if (x < 0.8) return { AWS: `arn:aws:iam::${OTHER}:role/ext` }
  if (x < 0.88) return { Service: r.pick(['sns.amazonaws.com', 's3.amazonaws.com']) }
  return { AWS: [`arn:aws:iam::${ACCT}:user/bob`, r.pick([ROLE_APP, OTHER, `arn:aws:iam::${ACCT}:user/alice`])] }
}

// ---- the request context ----

function requestContext(r, caller) {
  const ctx = {}
  // Keys the server derives for every request.
  ctx['aws:SecureTransport'] = r.pick(['true', 'false'])
  ctx['aws:ViaAWSService'] = 'false'
  ctx['aws:PrincipalIsAWSService'] = caller.service ? 'true' : 'false'
  // kyoka_decide evaluates at 1700000000000 ms (2023-11-14T22:13:20Z).
  ctx['aws:CurrentTime'] = '2023-11-14T22:13:20Z'
  ctx['aws:EpochTime'] = '1700000000'
  if (caller.service) ctx['aws:PrincipalServiceName'] = caller.service
  if (caller.arn) {
    ctx['aws:PrincipalArn'] = caller.roleArn ?? caller.arn
    ctx['aws:PrincipalAccount'] = caller.account
    ctx['aws:PrincipalType'] = caller.type
    if (caller.username) ctx['aws:username'] = caller.username
    if (!caller.root && r.chance(0.6)) ctx['aws:PrincipalTag/team'] = r.pick(KEYS['aws:PrincipalTag/team'].values)
  }
  for (const [key, spec] of Object.entries(KEYS)) {
    if (spec.derived || key === 'aws:PrincipalTag/team') continue
    const p = caller.service && (key === 'aws:SourceArn' || key === 'aws:SourceAccount') ? 0.8 : 0.4
    if (!r.chance(p)) continue
    ctx[key] = spec.kind === 'set' ? r.some(spec.values, 0, 3) : r.pick(spec.values)
  }
  return ctx
}

// ---- one case ----

export function generateCase(r) {
  const caller = weighted(r, PRINCIPALS)
  const svcName = r.pick(Object.keys(SERVICES))
  const svc = SERVICES[svcName]
  const action = `${svcName}:${r.pick(svc.actions)}`
  // Mostly resources in ACCT; some in OTHER for cross-account calls.
  const resourceAccount = r.chance(0.8) ? ACCT : OTHER
  const resource = svc.resource(r, resourceAccount, action.split(':')[1])
  const req = { action, resource }

  const iamCaller = caller.arn && !caller.root
  const identity = []
  if (iamCaller) {
    const n = r.int(0, 3)
    for (let i = 0; i < n; i++) identity.push(policy(r, req, { allowRate: 0.7, condRate: 0.35 }))
  }
  const boundary = iamCaller && r.chance(0.15) ? policy(r, req, { allowRate: 0.85, condRate: 0.2, maxStatements: 2 }) : null
  // Role sessions sometimes carry a session policy (AssumeRole's Policy).
  const session = caller.type === 'AssumedRole' && r.chance(0.2) ? [policy(r, req, { allowRate: 0.8, condRate: 0.2, maxStatements: 2 })] : []
  const needsResource = !iamCaller || r.chance(0.5)
  const resourcePolicy =
    svc.resourcePolicy && needsResource
      ? policy(r, req, { allowRate: 0.7, condRate: 0.35, principal: resourcePrincipal })
      : null

  return {
    identity,
    boundary,
    session,
    resourcePolicy,
    principal: caller.anonymous ? null : (caller.arn ?? caller.service),
    principalAccount: caller.account ?? null,
    action,
    resource,
    resourceAccount,
    context: requestContext(r, caller)
  }
}

export function generateCases(seed, count) {
  const r = rng(seed)
  const out = []
  for (let i = 0; i < count; i++) out.push(generateCase(r))
  return out
}

// Keys whose values are sets; every other key is single-valued.
export const SET_KEYS = new Set(Object.entries(KEYS).filter(([, s]) => s.kind === 'set').map(([k]) => k.toLowerCase()))
