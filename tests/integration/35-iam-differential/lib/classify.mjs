// Classifying a disagreement between kyoka and the peer.
//
// Each known difference (known_differences.json) is a place where kyoka
// follows AWS's documentation and the peer does not. Here each one has two
// pieces of code:
//   applies(case)      does the case use the feature at all?
//   neutralize(case)   the peer's input rewritten so that the peer computes
//                      what the documentation says, for that feature only
//                      (kyoka's input is never touched).
// A disagreement is classified when, after neutralizing every difference
// that applies, the peer gives kyoka's answer. So a case that also disagrees
// for some other reason stays unclassified, and the test fails on it.

const arr = (x) => (x === undefined ? [] : [x].flat())
const policiesOf = (c) => [...(c.identity ?? []), ...(c.session ?? []), c.boundary, c.resourcePolicy].filter(Boolean)
const statementsOf = (p) => arr(p.Statement)
const clone = (x) => JSON.parse(JSON.stringify(x))

// Visit every statement of every policy of a case. Policy variables exist
// only in policies with "Version": "2012-10-17"; older ones keep ${...}
// as literal text, so the variable rules skip them (onlyVars).
function eachStatement(c, fn, onlyVars = false) {
  for (const p of policiesOf(c)) {
    if (onlyVars && p.Version !== '2012-10-17') continue
    for (const s of statementsOf(p)) fn(s, p)
  }
}

function ctxValue(c, key) {
  const k = Object.keys(c.context ?? {}).find((x) => x.toLowerCase() === key.toLowerCase())
  return k === undefined ? undefined : c.context[k]
}

// ---- policy variables ----

const VAR = /\$\{([^}]*)\}/g
const SPECIAL = new Set(['*', '?', '$'])
// A value no request ever carries: what a variable with no value stands for
// ("the value is effectively null. There is no equal or like value").
const NULL_VALUE = '\u0000kyoka-null\u0000'

function varName(inner) {
  const comma = inner.indexOf(',')
  return { name: (comma < 0 ? inner : inner.slice(0, comma)).trim(), hasDefault: comma >= 0 }
}

// Does this string hold a variable the request has no single value for?
function hasNoValueVar(c, s) {
  for (const m of String(s).matchAll(VAR)) {
    if (SPECIAL.has(m[1])) continue
    const { name, hasDefault } = varName(m[1])
    const v = ctxValue(c, name)
    if (!hasDefault && (v === undefined || (Array.isArray(v) && v.length !== 1))) return true
  }
  return false
}

function nullNoValueVars(c, s) {
  return String(s).replace(VAR, (all, inner) => {
    if (SPECIAL.has(inner)) return all
    const { name, hasDefault } = varName(inner)
    const v = ctxValue(c, name)
    if (!hasDefault && (v === undefined || (Array.isArray(v) && v.length !== 1))) return NULL_VALUE
    return all
  })
}

// ${*} and ${?} resolve to the characters themselves, never to wildcards:
// they travel as private-use characters that globRegex turns into literals.
const LIT_STAR = '\uE000'
const LIT_QMARK = '\uE001'

// Resolve variables for matching: a value, the default, or null.
function resolveVars(c, s) {
  return String(s).replace(VAR, (all, inner) => {
    if (inner === '*') return LIT_STAR
    if (inner === '?') return LIT_QMARK
    if (inner === '$') return '$'
    const comma = inner.indexOf(',')
    const { name } = varName(inner)
    const v = ctxValue(c, name)
    if (v !== undefined && (!Array.isArray(v) || v.length === 1)) return arr(v)[0]
    if (comma >= 0) return inner.slice(comma + 1).trim().replace(/^'|'$/g, '')
    return NULL_VALUE
  })
}

const EXACT_STRING = /^String(Not)?Equals(IgnoreCase)?$/

// "arn:aws:sns:*": fewer than six segments, the last one ending in '*'.
const isShortStarArn = (x) => typeof x === 'string' && x.startsWith('arn:') && x.split(':').length < 6 && x.endsWith('*')

const isBareIp = (x) => typeof x === 'string' && !x.includes('/') && (/^\d+\.\d+\.\d+\.\d+$/.test(x) || x.includes(':'))

// Allow statements of the resource-based policy that grant to a
// same-account role session itself, when the session has session policies:
// a Principal naming the session's ARN or "*", or a NotPrincipal that leaves
// the session out of its exceptions (it names everyone else).
function directSessionGrants(c) {
  const session = typeof c.principal === 'string' && c.principal.includes(':assumed-role/')
  if (!session || !(c.session ?? []).length || !c.resourcePolicy || c.principalAccount !== c.resourceAccount) return []
  const roleArn = c.principal.replace(':sts::', ':iam::').replace(/:assumed-role\/([^/]+)\/.*$/, ':role/$1')
  const values = (p) => (p === '*' ? ['*'] : p && typeof p === 'object' ? Object.values(p).flatMap(arr) : [])
  const names = (p) => values(p).some((v) => v === '*' || v === c.principal)
  const covers = (v) =>
    v === '*' || v === c.principal || v === roleArn || v === c.principalAccount || v === `arn:aws:iam::${c.principalAccount}:root`
  const excludedBy = (np) => values(np).some(covers)
  return statementsOf(c.resourcePolicy).filter(
    (st) =>
      st.Effect === 'Allow' &&
      ((st.Principal !== undefined && names(st.Principal)) || (st.NotPrincipal !== undefined && !excludedBy(st.NotPrincipal)))
  )
}

const NEGATED = /^(StringNot|ArnNot)/

function baseOperator(op) {
  return op.replace(/^For(All|Any)Values?:/, '').replace(/IfExists$/, '')
}

// ---- ARN patterns (kyoka's documented reading, for the neutralizer) ----

function globRegex(p) {
  const re = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
    .replaceAll(LIT_STAR, '\\*')
    .replaceAll(LIT_QMARK, '\\?')
  return new RegExp('^' + re + '$', 's')
}

// "You can use wildcard characters (* and ?) within the individual segments
// of an ARN (the parts separated by colons)."
function arnMatches(pattern, arn) {
  if (pattern === '*') return true
  const p = pattern.split(':')
  const a = arn.split(':')
  if (a.length < 6) return false
  // Missing trailing parts of a short pattern count as "*".
  const pp = p.length >= 6 ? [...p.slice(0, 5), p.slice(5).join(':')] : p
  const aa = [...a.slice(0, 5), a.slice(5).join(':')]
  for (let i = 0; i < 6; i++) if (!globRegex(i < pp.length ? pp[i] : '*').test(aa[i])) return false
  return true
}

// The part of the sixth ARN segment the peer compares literally: up to and
// including the first '/' or ':' (S3 object ARNs excepted).
function peerLiteralPrefix(pattern) {
  const parts = pattern.split(':')
  if (parts.length < 6) return ''
  if (parts[2] === 's3' && parts[3] === '' && parts[4] === '') return ''
  const r = parts.slice(5).join(':')
  const slash = r.indexOf('/')
  const colon = r.indexOf(':')
  const cut = slash >= 0 && colon >= 0 ? Math.min(slash, colon) + 1 : colon < 0 ? slash + 1 : colon + 1
  return r.slice(0, cut)
}

const hasWildcardInPrefix = (pattern) => /[*?]/.test(peerLiteralPrefix(pattern))

// ---- dates ----

const isEpoch = (s) => /^\d+$/.test(String(s))
const toEpoch = (s) => (isEpoch(s) ? String(s) : String(Math.floor(Date.parse(s) / 1000)))
const toIso = (s) => (isEpoch(s) ? new Date(Number(s) * 1000).toISOString() : String(s))

function dateConditions(s, fn) {
  for (const [op, block] of Object.entries(s.Condition ?? {})) {
    if (!baseOperator(op).startsWith('Date')) continue
    for (const key of Object.keys(block)) fn(block, key)
  }
}

// ---- the known differences ----

export const DIFFERENCES = {
  'root-user': {
    applies: (c) => typeof c.principal === 'string' && /^arn:[^:]+:iam::\d{12}:root$/.test(c.principal),
    // The root user acts with the account's full authority: the peer gets
    // that authority written out as an identity policy.
    neutralize: (c) => {
      c.identity = [...(c.identity ?? []), { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }]
    }
  },
  'wildcard-in-resource-type': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) => {
        for (const r of [...arr(s.Resource), ...arr(s.NotResource)]) if (hasWildcardInPrefix(r)) hit = true
      })
      return hit
    },
    // Decide each such pattern the documented way and hand the peer a
    // pattern without wildcards that gives the same answer.
    neutralize: (c) => {
      eachStatement(c, (s, p) => {
        const fix = (r) => {
          if (!hasWildcardInPrefix(r)) return r
          const resolved = p.Version === '2012-10-17' ? resolveVars(c, r) : r
          return arnMatches(resolved, c.resource) ? c.resource : 'arn:aws:kyoka-no-match:::nothing'
        }
        if (s.Resource !== undefined) s.Resource = Array.isArray(s.Resource) ? s.Resource.map(fix) : fix(s.Resource)
        if (s.NotResource !== undefined) s.NotResource = Array.isArray(s.NotResource) ? s.NotResource.map(fix) : fix(s.NotResource)
      })
    }
  },
  'variable-with-no-value': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) => {
        for (const r of arr(s.NotResource)) if (hasNoValueVar(c, r)) hit = true
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (NEGATED.test(baseOperator(op)))
            for (const v of Object.values(block)) for (const x of arr(v)) if (hasNoValueVar(c, x)) hit = true
      }, true)
      return hit
    },
    // A variable with no value is null: put a value nothing equals in its
    // place, in NotResource and in condition values.
    neutralize: (c) => {
      eachStatement(c, (s) => {
        if (s.NotResource !== undefined)
          s.NotResource = Array.isArray(s.NotResource) ? s.NotResource.map((r) => nullNoValueVars(c, r)) : nullNoValueVars(c, s.NotResource)
        for (const block of Object.values(s.Condition ?? {}))
          for (const key of Object.keys(block))
            block[key] = Array.isArray(block[key]) ? block[key].map((x) => nullNoValueVars(c, x)) : nullNoValueVars(c, block[key])
      }, true)
    }
  },
  'empty-multivalued-key': {
    applies: (c) => Object.values(c.context ?? {}).some((v) => Array.isArray(v) && v.length === 0),
    // An empty set is a null dataset: the key is not there.
    neutralize: (c) => {
      for (const [k, v] of Object.entries(c.context)) if (Array.isArray(v) && v.length === 0) delete c.context[k]
    }
  },
  'policy-variables-need-2012-10-17': {
    applies: (c) => policiesOf(c).some((p) => p.Version !== '2012-10-17' && JSON.stringify(p).includes('${')),
    // In an older (or absent) Version, ${...} is plain text: break the
    // "${" so the peer cannot read it as a variable. No request value holds
    // the text, so literal text and the broken text match the same things.
    neutralize: (c) => {
      const fix = (x) => (typeof x === 'string' ? x.replace(/\$\{/g, '$\u0000{') : x)
      for (const p of policiesOf(c)) {
        if (p.Version === '2012-10-17') continue
        for (const s of statementsOf(p)) {
          for (const el of ['Resource', 'NotResource'])
            if (s[el] !== undefined) s[el] = Array.isArray(s[el]) ? s[el].map(fix) : fix(s[el])
          for (const block of Object.values(s.Condition ?? {}))
            for (const key of Object.keys(block)) block[key] = Array.isArray(block[key]) ? block[key].map(fix) : fix(block[key])
        }
      }
    }
  },
  'special-character-variables': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (EXACT_STRING.test(baseOperator(op)) && /\$\{[*?$]\}/.test(JSON.stringify(block))) hit = true
      }, true)
      return hit
    },
    // ${*}, ${?} and ${$} stand for the characters themselves; in the
    // exact-match operators those characters have no special meaning, so
    // the peer can be given them as they are.
    neutralize: (c) => {
      const fix = (x) => (typeof x === 'string' ? x.replace(/\$\{([*?$])\}/g, '$1') : x)
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (EXACT_STRING.test(baseOperator(op)))
            for (const key of Object.keys(block)) block[key] = Array.isArray(block[key]) ? block[key].map(fix) : fix(block[key])
      }, true)
    }
  },
  'short-arn-in-arn-condition': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (baseOperator(op).startsWith('Arn'))
            for (const v of Object.values(block)) for (const x of arr(v)) if (isShortStarArn(x)) hit = true
      })
      return hit
    },
    // A trailing * in the last segment written expands across the colons:
    // give the peer the same pattern with all six segments.
    neutralize: (c) => {
      const fix = (x) => (isShortStarArn(x) ? x + ':*'.repeat(5 - String(x).split(':').length + 1) : x)
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (baseOperator(op).startsWith('Arn'))
            for (const key of Object.keys(block)) block[key] = Array.isArray(block[key]) ? block[key].map(fix) : fix(block[key])
      })
    }
  },
  'ip-address-without-prefix': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (/IpAddress$/.test(baseOperator(op))) for (const v of Object.values(block)) for (const x of arr(v)) if (isBareIp(x)) hit = true
      })
      return hit
    },
    // "If you specify an IP address without the associated routing prefix,
    // IAM uses the default prefix value of /32": write the prefix out.
    neutralize: (c) => {
      const fix = (x) => (isBareIp(x) ? `${x}/${String(x).includes(':') ? 128 : 32}` : x)
      eachStatement(c, (s) => {
        for (const [op, block] of Object.entries(s.Condition ?? {}))
          if (/IpAddress$/.test(baseOperator(op)))
            for (const key of Object.keys(block)) block[key] = Array.isArray(block[key]) ? block[key].map(fix) : fix(block[key])
      })
    }
  },
  'resource-grant-to-session': {
    applies: (c) => directSessionGrants(c).length > 0,
    // A resource-based grant to the session itself is added after the
    // session is created, outside its session policy: hand the peer those
    // same statements inside the session policy, so the session policy
    // allows exactly what they grant and nothing else.
    neutralize: (c) => {
      const grants = directSessionGrants(c)
      const sp = c.session[0]
      sp.Statement = [...arr(sp.Statement), ...grants.map(({ Principal, NotPrincipal, Sid, ...rest }) => rest)]
    }
  },
  'epoch-seconds-dates': {
    applies: (c) => {
      let hit = false
      eachStatement(c, (s) =>
        dateConditions(s, (block, key) => {
          const req = arr(ctxValue(c, key))
          if (req.some((rv) => arr(block[key]).some((pv) => isEpoch(pv) !== isEpoch(rv)))) hit = true
        })
      )
      return hit
    },
    // Epoch values are seconds: give the peer every policy date in the
    // same form as the request's value, so no unit mix-up can happen.
    neutralize: (c) => {
      eachStatement(c, (s) =>
        dateConditions(s, (block, key) => {
          const req = arr(ctxValue(c, key))
          if (req.length === 0) return
          const conv = isEpoch(req[0]) ? toEpoch : toIso
          block[key] = Array.isArray(block[key]) ? block[key].map(conv) : conv(block[key])
        })
      )
    }
  }
}

// Check that the JSON register and the code name the same differences.
export function checkRegister(register) {
  const ids = new Set(register.map((d) => d.id))
  const problems = []
  for (const d of register) {
    if (!DIFFERENCES[d.id]) problems.push(`known_differences.json: ${d.id} has no classifier in lib/classify.mjs`)
    for (const f of ['id', 'title', 'aws_doc', 'kyoka', 'peer'])
      if (!d[f]) problems.push(`known_differences.json: ${d.id ?? '?'} lacks ${f}`)
  }
  for (const id of Object.keys(DIFFERENCES)) if (!ids.has(id)) problems.push(`lib/classify.mjs: ${id} is not in known_differences.json`)
  return problems
}

// The ids of the known differences that explain a disagreement, or null.
// peerDecide is the peer adapter; kyokaDecision what kyoka said.
export async function classify(c, kyokaDecision, peerDecide) {
  const ids = Object.keys(DIFFERENCES).filter((id) => DIFFERENCES[id].applies(c))
  if (ids.length === 0) return null
  const n = clone(c)
  for (const id of ids) DIFFERENCES[id].neutralize(n)
  const p = await peerDecide(n)
  if (p.error || p.decision !== kyokaDecision) return null
  // Report only the differences that were needed.
  const needed = []
  for (const id of ids) {
    const m = clone(c)
    for (const other of ids) if (other !== id) DIFFERENCES[other].neutralize(m)
    const q = await peerDecide(m)
    if (q.error || q.decision !== kyokaDecision) needed.push(id)
  }
  return needed.length ? needed : ids
}
