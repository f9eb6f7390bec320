// The arithmetic and table of `npm run bench` (bench/stats.ts): pure functions, no servers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grantIdsIn } from '../../bench/keys-watch.ts';
import { formatTable, judge, metricValue, parseArgs, percentile, SCENARIOS, summarize, type Row } from '../../bench/stats.ts';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles: values that were measured, whatever the order given', () => {
    const samples = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 … 1
    const s = summarize(samples);
    assert.deepEqual(s, { n: 200, p50: 100, p99: 198, max: 200 });
    assert.equal(percentile([7], 0.99), 7);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(summarize([3, 1, 2]).p99, 3);
    assert.throws(() => percentile([], 0.5), /no samples/);
  });

  it('says whether a target is met, and by how much it is missed', () => {
    const row: Row = { figure: 'x', unit: 'ms', summary: { n: 3, p50: 12, p99: 40, max: 50 }, targets: [{ stat: 'p50', op: '<=', limit: 5 }, { stat: 'p99', op: '<=', limit: 50 }] };
    assert.equal(judge(row), 'p50 missed by 7.00 ms (2.4×)');
    assert.equal(judge({ ...row, targets: [{ stat: 'p99', op: '<=', limit: 40 }] }), 'met');
    assert.equal(judge({ figure: 'b', unit: 'grants/s', value: 250, targets: [{ stat: 'value', op: '>=', limit: 1000 }] }), 'missed by 750 grants/s (4.0×)');
    assert.equal(judge({ figure: 'c', unit: 'ms', targets: [{ stat: 'value', op: '<=', limit: 1 }] }), 'not measured');
    assert.equal(judge({ figure: 'd', unit: 'ms', value: 1 }), '');
  });

  it('prints one Markdown table with the ratio to the floor', () => {
    const table = formatTable(
      [
        { figure: 'floor', unit: 'ms', summary: { n: 500, p50: 2, p99: 4, max: 9 }, ratioToFloor: true },
        { figure: 'line', unit: 'ms', summary: { n: 200, p50: 18, p99: 41, max: 183 }, ratioToFloor: true, targets: [{ stat: 'p99', op: '<=', limit: 20 }] },
        { figure: 'burst', unit: 'grants/s', value: 1234.5, note: '50 at once', targets: [{ stat: 'value', op: '>=', limit: 1000 }] },
      ],
      2,
    ).split('\n');
    assert.equal(table.length, 5);
    assert.equal(table[0], '| figure | n | p50 | p99 | max | ÷ floor (p50) | target | met? |');
    assert.equal(table[2], '| floor | 500 | 2.00 ms | 4.00 ms | 9.00 ms | 1.0× |  |  |');
    assert.equal(table[3], '| line | 200 | 18.0 ms | 41.0 ms | 183 ms | 9.0× | p99 ≤ 20.0 ms | missed by 21.0 ms (2.0×) |');
    assert.equal(table[4], '| burst (50 at once) |  | 1235 grants/s |  |  |  | ≥ 1000 grants/s | met |');
  });

  it('reads --quick and --only, and names what it refuses', () => {
    assert.deepEqual(parseArgs([]), { quick: false, only: [...SCENARIOS] });
    assert.deepEqual(parseArgs(['--quick', '--only', 'floor,burst']), { quick: true, only: ['floor', 'burst'] });
    assert.deepEqual(parseArgs(['--quick']).only, SCENARIOS.filter((n) => n !== 'scale'), 'quick leaves out scale');
    assert.deepEqual(parseArgs(['--quick', '--only', 'scale']).only, ['scale']);
    assert.deepEqual(parseArgs(['--only=scale']).only, ['scale']);
    assert.throws(() => parseArgs(['--only', 'flor']), /no scenario flor/);
    assert.throws(() => parseArgs(['--only']), /--only needs a list/);
    assert.throws(() => parseArgs(['--fast']), /unknown argument --fast/);
  });

  it('reads a sample from the Prometheus text and grant ids from authorized_keys', () => {
    const metrics = '# HELP x\njit_sync_duration_seconds_count{jump_host="bastion"} 17\njit_sync_duration_seconds_count{jump_host="b2"} 3\n';
    assert.equal(metricValue(metrics, 'jit_sync_duration_seconds_count', { jump_host: 'bastion' }), 17);
    assert.equal(metricValue(metrics, 'jit_sync_duration_seconds_count', { jump_host: 'nope' }), undefined);
    const keys = 'restrict ssh-ed25519 AAAA broker\n# BEGIN jit-jump managed block: do not edit (generation 4)\nrestrict,command="/bin/false" ssh-ed25519 AAAB jit:rabc2,rdef3\nrestrict ssh-ed25519 AAAC jit:rxyz9\n# END jit-jump managed block\n';
    assert.deepEqual([...grantIdsIn(keys)].sort(), ['rabc2', 'rdef3', 'rxyz9']);
  });
});
