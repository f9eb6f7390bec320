// The pure half of `npm run bench`: arguments, percentiles, targets and the printed table. No I/O here, so the
// figures' arithmetic is tested on its own (test/bench/stats.test.ts).

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of ascending `sorted` (q in 0..1): a value that was measured, never interpolated. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s[s.length - 1]! };
}

/** A target from the issue: the figure's `stat` must be at most (or at least) `limit`. */
export interface Target {
  stat: 'p50' | 'p99' | 'max' | 'value';
  op: '<=' | '>=';
  limit: number;
}

export interface Row {
  figure: string;
  unit: string;
  /** latency-like figures: p50 / p99 / max over samples */
  summary?: Summary;
  /** single figures (throughput, counts, sizes) */
  value?: number;
  /** latency figures in ms are also shown as a ratio of their p50 to the floor's p50 */
  ratioToFloor?: boolean;
  targets?: Target[];
  note?: string;
}

function statOf(row: Row, stat: Target['stat']): number | undefined {
  if (stat === 'value') return row.value;
  return row.summary?.[stat];
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function targetText(t: Target, unit: string): string {
  return `${t.stat === 'value' ? '' : `${t.stat} `}${t.op === '<=' ? '≤' : '≥'} ${fmt(t.limit)} ${unit}`;
}

/** "met", or how far off: "missed by 12.3 ms (3.5×)" for a ceiling, "missed by 800 grants/s (5.0×)" for a floor. */
export function judgeOne(row: Row, t: Target): string {
  const v = statOf(row, t.stat);
  if (v === undefined || Number.isNaN(v)) return 'not measured';
  if (t.op === '<=' ? v <= t.limit : v >= t.limit) return 'met';
  const gap = Math.abs(v - t.limit);
  const factor = t.op === '<=' ? v / t.limit : v === 0 ? Infinity : t.limit / v;
  return `missed by ${fmt(gap)} ${row.unit} (${Number.isFinite(factor) ? `${factor.toFixed(1)}×` : '∞'})`;
}

/** Every target of a row: "met" when all are, else each miss named by its statistic. */
export function judge(row: Row): string {
  const targets = row.targets ?? [];
  if (targets.length === 0) return '';
  const verdicts = targets.map((t) => ({ t, v: judgeOne(row, t) }));
  if (verdicts.every(({ v }) => v === 'met')) return 'met';
  const label = (t: Target) => (targets.length > 1 && t.stat !== 'value' ? `${t.stat} ` : '');
  return verdicts.filter(({ v }) => v !== 'met').map(({ t, v }) => `${label(t)}${v}`).join('; ');
}

/** One Markdown table (it reads as well in a terminal as in BENCHMARKS.md). `floorP50` is the floor's p50 in ms. */
export function formatTable(rows: readonly Row[], floorP50?: number): string {
  const head = ['figure', 'n', 'p50', 'p99', 'max', '÷ floor (p50)', 'target', 'met?'];
  const body = rows.map((r) => {
    const s = r.summary;
    const u = r.unit;
    const ratio = r.ratioToFloor && s && floorP50 ? `${(s.p50 / floorP50).toFixed(1)}×` : '';
    const cells = s ? [String(s.n), `${fmt(s.p50)} ${u}`, `${fmt(s.p99)} ${u}`, `${fmt(s.max)} ${u}`] : ['', r.value === undefined ? '' : `${fmt(r.value)} ${u}`, '', ''];
    return [r.note ? `${r.figure} (${r.note})` : r.figure, ...cells, ratio, (r.targets ?? []).map((t) => targetText(t, u)).join('; '), judge(r)];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export const SCENARIOS = ['floor', 'access', 'expiry', 'naive', 'burst', 'session', 'scale'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchArgs {
  quick: boolean;
  only: ScenarioName[];
}

/**
 * `[--quick] [--only floor,access,…]`; anything else is refused by name. `--quick` alone leaves out `scale`
 * (its own broker process is started once per level: ≈ 20 s even when small); `--quick --only scale` runs it.
 */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let only: ScenarioName[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!list) throw new Error(`--only needs a list: ${SCENARIOS.join(',')}`);
      const names = list.split(',');
      const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (unknown.length) throw new Error(`--only: no scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
      only = names as ScenarioName[];
    } else throw new Error(`unknown argument ${a} (use --quick, --only ${SCENARIOS.join(',')})`);
  }
  return { quick, only: only ?? SCENARIOS.filter((n) => !quick || n !== 'scale') };
}

/** A sample of a Prometheus text exposition: `name{labels}` exactly as written (labels in the order given). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const prefix = want ? `${name}{${want}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length).trim().split(' ')[0]);
}

/** One line for the standalone scripts: "name  n=…  p50 … ms  p99 … ms  max … ms". */
export function summaryLine(name: string, samples: readonly number[], width = 44): string {
  const s = summarize(samples);
  const ms = (v: number) => `${fmt(v).padStart(7)} ms`;
  return `${name.padEnd(width)} n=${String(s.n).padStart(4)}  p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}`;
}
