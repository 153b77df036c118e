// arquero tables: detection, column types, number formatting, escaping, row limits, plain text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import { formatNumber } from '../lib/display/format';
import { inferColumnType, isArqueroTable, tableHtml, tableText } from '../lib/display/table';
import { tableBundle, tableView, toMimeBundle, MIME_BUNDLE } from '../lib/display';

test('arquero tables are recognised (also filtered and derived ones); look-alikes without the methods are not', () => {
  const t = aq.table({ a: [1, 2, 3] });
  assert.ok(isArqueroTable(t));
  assert.ok(isArqueroTable(t.filter((d: { a: number }) => d.a > 1)));
  assert.ok(isArqueroTable(aq.from([{ x: 1 }])));
  assert.equal(isArqueroTable({ numRows: () => 1 }), false);
  assert.equal(isArqueroTable([1, 2]), false);
  assert.equal(toMimeBundle(t)['text/html'], tableHtml(t), 'toMimeBundle dispatches to the table display');
});

test('column types are inferred from the values', () => {
  assert.equal(inferColumnType([1, 2, null, 3]), 'integer');
  assert.equal(inferColumnType([1, 2.5]), 'number');
  assert.equal(inferColumnType([2.5, 1]), 'number');
  assert.equal(inferColumnType(['a', null]), 'string');
  assert.equal(inferColumnType([true, false]), 'boolean');
  assert.equal(inferColumnType([new Date(0)]), 'date');
  assert.equal(inferColumnType([null, undefined]), 'null');
  assert.equal(inferColumnType([1, 'a']), 'mixed');
  assert.equal(inferColumnType([{ a: 1 }]), 'object');
  assert.equal(inferColumnType([NaN, 1]), 'number');
});

test('numbers keep four significant digits, switch to exponents when tiny or huge, integers print in full', () => {
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(12.3456), '12.35');
  assert.equal(formatNumber(0.5), '0.5');
  assert.equal(formatNumber(1234567), '1234567');
  assert.equal(formatNumber(1234567.5), '1.235e+6');
  assert.equal(formatNumber(0.0000123456), '1.235e-5');
  assert.equal(formatNumber(-2.5e-7, 3), '-2.5e-7');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(-Infinity), '-Infinity');
});

test('HTML: names, types and values escaped; numbers right-aligned and formatted; nulls greyed', () => {
  const t = aq.table({
    '<name>': ['<script>alert("x")</script>', 'a & b'],
    error: [0.123456, null],
    count: [1, 2],
    ok: [true, false],
    when: [new Date('2020-01-02T00:00:00Z'), new Date('2020-01-02T03:04:05Z')],
  });
  const html = tableHtml(t);
  assert.ok(!html.includes('<script>'), 'no raw script tag survives');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;name&gt;<br>'));
  assert.ok(html.includes('a &amp; b'));
  for (const type of ['string', 'number', 'integer', 'boolean', 'date'])
    assert.ok(html.includes(`>${type}</span>`), `type ${type} shown`);
  assert.match(html, /text-align:right;">0\.1235<\/td>/);
  assert.match(html, /text-align:right;color:#aaa;">null<\/td>/);
  assert.match(html, /text-align:left;">true<\/td>/);
  assert.ok(html.includes('>2020-01-02</td>'), 'midnight dates print as dates');
  assert.ok(html.includes('>2020-01-02T03:04:05.000Z</td>'));
  assert.ok(html.includes('2 rows × 5 columns'));
});

test('shows the first rows, then "... M more rows"; the limit is an option; order and filters are honoured', () => {
  const t = aq.table({ i: Array.from({ length: 45 }, (_, i) => i) });
  const html = tableHtml(t);
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 20, 'header + 20 rows');
  assert.ok(html.includes('... 25 more rows (45 rows × 1 column)'));
  const bundle = tableView(t, { limit: 40 })[MIME_BUNDLE]();
  assert.ok(String(bundle['text/html']).includes('... 5 more rows'));
  const sorted = t.orderby(aq.desc('i')).filter((d: { i: number }) => d.i % 2 === 0);
  const text = tableText(sorted, { limit: 3 });
  assert.deepEqual(
    text
      .split('\n')
      .slice(3, 6)
      .map((l) => l.trim()),
    ['44', '42', '40'],
  );
  assert.ok(text.endsWith('... 20 more rows (23 rows × 1 column)'));
  assert.ok(tableText(aq.table({ i: [1] })).endsWith('1 row × 1 column'));
});

test('text/plain: names, types and a rule, numbers right-aligned, text left-aligned, long text cut', () => {
  const t = aq.table({ name: ['lenet', 'resnet20-long-name'], error: [0.0123456, 0.5], n: [7, 1234] });
  const lines = tableBundle(t)['text/plain'] as string;
  assert.equal(
    lines,
    [
      'name                  error        n',
      'string               number  integer',
      '------------------  -------  -------',
      'lenet               0.01235        7',
      'resnet20-long-name      0.5     1234',
      '2 rows × 3 columns',
    ].join('\n'),
  );
  const long = tableText(aq.table({ s: ['x'.repeat(100)] }));
  assert.ok(long.includes(`${'x'.repeat(39)}…`));
  assert.equal(tableText(aq.table({})), '0 rows × 0 columns');
});
