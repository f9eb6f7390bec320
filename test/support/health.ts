// Reading the health endpoints as a probe or Prometheus would.
export interface Scrape {
  text: string;
  /** the sample's value, labels matched exactly as given (others ignored); undefined if absent */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

export async function scrapeMetrics(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const samples = text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a Prometheus sample line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
  return {
    text,
    value: (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value,
  };
}

export async function probe(baseUrl: string, path: '/healthz' | '/readyz'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.json() };
}
