#!/usr/bin/env node
// Differential test of kyoka's IAM policy engine against
// @cloud-copilot/iam-simulate (pinned in package.json).
//
// Run by CTest as `differential_iam` (tests/unit/iam_differential/), with
// KYOKA_DECIDE naming the kyoka_decide driver. Four checks:
//   1. known_differences.json and lib/classify.mjs name the same differences;
//   2. every saved case in cases/*.json still gets kyoka's recorded decision;
//   3. with the peer: every saved case agrees, or disagrees only as classified;
//   4. with the peer: IAM_DIFF_COUNT random cases from IAM_DIFF_SEED
//      (lib/generate.mjs) agree, or disagree only in a known difference.
// A disagreement no known difference explains fails the run; the run prints
// it shrunk to a small case, with kyoka's explanation. IAM_DIFF_SAVE=1 also
// writes every disagreement of the run, shrunk, into cases/ (the way the
// saved cases were made). Without the peer installed, checks 1 and 2 run and
// the test reports itself skipped (exit 77).
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { checkRegister, classify } from './lib/classify.mjs'
import { generateCases } from './lib/generate.mjs'
import { kyokaDecideAll } from './lib/kyoka.mjs'
import { HERE, PEER_ABSENT_MESSAGE, peerDecide, peerPresent, peerVersion } from './lib/peer.mjs'
import { shrink } from './lib/shrink.mjs'

const SEED = Number(process.env.IAM_DIFF_SEED ?? 20240917)
const COUNT = Number(process.env.IAM_DIFF_COUNT ?? 2000)
const SAVE = process.env.IAM_DIFF_SAVE === '1'
const SAVE_PER_FILE = 8
const MAX_REFUSED = 0.05 // the generator must stay inside what the peer accepts
const BIN = process.env.KYOKA_DECIDE
const CASES_DIR = join(HERE, 'cases')

const started = Date.now()
let passed = 0
let failed = 0
function check(name, problems) {
  if (problems.length === 0) {
    passed++
    console.log(`ok - ${name}`)
  } else {
    failed++
    console.log(`not ok - ${name}`)
    for (const p of problems) console.log(`  ${p.replace(/\n/g, '\n  ')}`)
  }
}
function finish(code) {
  console.log(`differential_iam: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(code ?? (failed ? 1 : 0))
}

if (!BIN || !existsSync(BIN)) {
  console.log('KYOKA_DECIDE must name the kyoka_decide binary (built by tests/unit/iam_differential)')
  failed++
  finish()
}

// A known difference that names the decisions it produces (not "any")
// explains only those, when it is the only difference involved.
function pairFits(cls, kyoka, peer) {
  if (!cls || cls.length !== 1) return !!cls
  const d = register.find((x) => x.id === cls[0])
  return (d.kyoka === 'any' || d.kyoka === kyoka) && (d.peer === 'any' || d.peer === peer)
}

const same = (a, b) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort())

// ---- 1. the register ----
const register = JSON.parse(readFileSync(join(HERE, 'known_differences.json'), 'utf8'))
check('known_differences.json matches lib/classify.mjs', checkRegister(register))

// ---- 2. saved cases against kyoka ----
const saved = []
for (const f of readdirSync(CASES_DIR).filter((f) => f.endsWith('.json')).sort()) {
  const doc = JSON.parse(readFileSync(join(CASES_DIR, f), 'utf8'))
  doc.cases.forEach((s, i) => saved.push({ ...s, where: `cases/${f}#${i}` }))
}
const savedKyoka = kyokaDecideAll(
  BIN,
  saved.map((s) => s.case)
)
check(
  `${saved.length} saved cases keep kyoka's recorded decision`,
  saved.flatMap((s, i) =>
    savedKyoka[i].decision === s.kyoka ? [] : [`${s.where}: kyoka says ${savedKyoka[i].decision ?? 'error: ' + savedKyoka[i].error}, recorded ${s.kyoka}`]
  )
)

if (!peerPresent()) {
  console.log(PEER_ABSENT_MESSAGE)
  finish(failed ? 1 : 77)
}
console.log(`# peer: @cloud-copilot/iam-simulate ${peerVersion()}`)

// Explain an unclassified disagreement: shrink it, show kyoka's reasoning.
async function report(c, kyokaDecision, peer) {
  const small = await shrink(BIN, c, peerDecide)
  const [ex] = kyokaDecideAll(BIN, [small], { explain: true })
  return [
    `kyoka ${kyokaDecision} / peer ${peer}: no known difference explains it.`,
    `kyoka: ${ex.explain?.reason ?? ex.error}`,
    `case: ${JSON.stringify(small)}`,
    `Fix kyoka (src/iam, with a unit test in tests/unit/iam) or, if kyoka follows AWS's documentation and the peer does not, add the difference to known_differences.json and lib/classify.mjs and docs/iam.md.`
  ].join('\n')
}

// ---- 3. saved cases against the peer ----
{
  const problems = []
  for (let i = 0; i < saved.length; i++) {
    const s = saved[i]
    const k = savedKyoka[i]
    if (k.error) continue
    const p = await peerDecide(s.case)
    if (p.error) {
      problems.push(`${s.where}: the peer refused the case: ${p.error}`)
      continue
    }
    if (p.decision === k.decision) {
      if ((s.classification ?? []).length) console.log(`# ${s.where}: the peer now agrees with kyoka (was: ${s.classification.join(', ')})`)
      continue
    }
    const explained = await classify(s.case, k.decision, peerDecide)
    const cls = pairFits(explained, k.decision, p.decision) ? explained : null
    if (!cls) problems.push(`${s.where}: ` + (await report(s.case, k.decision, p.decision)))
    else if (!same(cls, s.classification)) problems.push(`${s.where}: now explained by ${cls.join(', ')}, recorded ${(s.classification ?? []).join(', ') || 'none'}`)
  }
  check(`${saved.length} saved cases agree or disagree only as recorded`, problems)
}

// ---- 4. random cases ----
{
  const cases = generateCases(SEED, COUNT)
  const ks = kyokaDecideAll(BIN, cases)
  const counts = { agree: 0, refused: 0 }
  const byDifference = {}
  const unexplained = []
  const found = []
  for (let i = 0; i < cases.length; i++) {
    const p = await peerDecide(cases[i])
    if (p.error) {
      counts.refused++
      continue
    }
    if (ks[i].error) {
      unexplained.push({ i, kyoka: `error: ${ks[i].error}`, peer: p.decision })
      continue
    }
    if (ks[i].decision === p.decision) {
      counts.agree++
      continue
    }
    const explained = await classify(cases[i], ks[i].decision, peerDecide)
    const cls = pairFits(explained, ks[i].decision, p.decision) ? explained : null
    if (!cls) {
      unexplained.push({ i, kyoka: ks[i].decision, peer: p.decision })
      continue
    }
    const key = cls.join('+')
    byDifference[key] = (byDifference[key] ?? 0) + 1
    found.push({ i, kyoka: ks[i].decision, peer: p.decision, classification: cls })
  }
  console.log(`# seed ${SEED}: ${COUNT} cases, ${counts.agree} agree, ${counts.refused} refused by the peer, ${COUNT - counts.agree - counts.refused} disagree`)
  for (const [k, n] of Object.entries(byDifference)) console.log(`#   ${n} known difference: ${k}`)
  const problems = []
  if (counts.refused > COUNT * MAX_REFUSED)
    problems.push(`the peer refused ${counts.refused} of ${COUNT} cases: the generator has left the grammar both engines support`)
  for (const u of unexplained.slice(0, 5)) {
    if (u.kyoka.startsWith('error')) problems.push(`case ${u.i}: kyoka refused a policy the peer accepted (${u.kyoka}): ${JSON.stringify(cases[u.i])}`)
    else problems.push(`case ${u.i}: ` + (await report(cases[u.i], u.kyoka, u.peer)))
  }
  if (unexplained.length > 5) problems.push(`... and ${unexplained.length - 5} more unexplained disagreements`)
  check(`${COUNT} random cases agree or disagree only in known differences`, problems)

  if (SAVE) await saveFound(cases, found)
}

// IAM_DIFF_SAVE=1: shrink the classified disagreements of this run and add
// the new shapes to cases/<difference>.json (at most SAVE_PER_FILE each).

// What a saved case looks like, ignoring names: two cases of the same shape
// test the same thing.
function shape(s) {
  const c = s.case
  const pr = c.principal
  const who =
    pr === null ? 'anonymous' : !pr.startsWith('arn:') ? 'service' : pr.endsWith(':root') ? 'root' : pr.includes(':assumed-role/') ? 'session' : 'user'
  const pol = (p) =>
    p && [p.Version ?? '-'].concat([p.Statement].flat().map((st) => [st.Effect, Object.keys(st).sort().join(','), Object.keys(st.Condition ?? {}).sort().join(',')].join('/')))
  return JSON.stringify([s.kyoka, s.peer, who, c.principalAccount === c.resourceAccount, (c.identity ?? []).map(pol), pol(c.boundary), pol(c.resourcePolicy)])
}

async function saveFound(cases, found) {
  const byFile = {}
  for (const f of found) {
    const file = join(CASES_DIR, `${f.classification.join('+')}.json`)
    byFile[file] ??= existsSync(file)
      ? JSON.parse(readFileSync(file, 'utf8'))
      : { about: `Disagreements with the peer explained by ${f.classification.join(' and ')} (known_differences.json), shrunk.`, cases: [] }
    const doc = byFile[file]
    if (doc.cases.length >= SAVE_PER_FILE) continue
    const small = await shrink(BIN, cases[f.i], peerDecide)
    const entry = { kyoka: f.kyoka, peer: f.peer, classification: f.classification, seed: SEED, index: f.i, case: small }
    if (doc.cases.some((s) => shape(s) === shape(entry))) continue
    doc.cases.push(entry)
  }
  for (const [file, doc] of Object.entries(byFile)) {
    writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
    console.log(`# ${doc.cases.length} cases in ${file}`)
  }
}

finish()
