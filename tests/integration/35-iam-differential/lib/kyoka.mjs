// kyoka's side: every case through one kyoka_decide process (KYOKA_DECIDE).
import { spawnSync } from 'node:child_process'

export function kyokaDecideAll(bin, cases, { explain = false } = {}) {
  const input = cases.map((c) => JSON.stringify(c)).join('\n') + '\n'
  const res = spawnSync(bin, explain ? ['--explain'] : [], { input, maxBuffer: 256 << 20, encoding: 'utf8' })
  if (res.error) throw res.error
  if (res.status !== 0) throw new Error(`kyoka_decide exited ${res.status}: ${res.stderr}`)
  const lines = res.stdout.split('\n').filter((l) => l.length)
  if (lines.length !== cases.length)
    throw new Error(`kyoka_decide answered ${lines.length} lines for ${cases.length} cases: ${res.stderr}`)
  return lines.map((l) => {
    if (l.startsWith('error: ')) return { error: l.slice(7) }
    if (explain) {
      const j = JSON.parse(l)
      return { decision: j.decision, explain: j }
    }
    return { decision: l }
  })
}
