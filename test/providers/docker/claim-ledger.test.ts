/**
 * The claim ledger's policy (who keeps a key nobody was granted) and its file: persistence, a
 * corrupt file moved aside, malformed entries, a directory it cannot write to.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ClaimOwner } from '../../../src/config/labels/claim-outcome.ts';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import { ClaimLedger, type OwnerDaemon } from '../../../src/providers/docker/claim-ledger.ts';
import { FileClaimStore, parseLedger, type ClaimRecord } from '../../../src/providers/docker/claim-store.ts';
import { tempDir } from '../../helpers/temp.ts';

const MIN = 60_000;
const NOW = Date.parse('2026-12-07T12:00:00Z');
const GRACE = 10 * MIN;
const quiet = pino({ level: 'silent' });

function view(partial: Partial<ContainerView> & { id: string; daemon: string }): ContainerView {
  return {
    name: partial.id,
    labels: {},
    env: [],
    running: true,
    health: 'none',
    networks: {},
    networkMode: 'host',
    ports: [],
    ...partial,
  };
}

function rec(key: string, daemon: string, containerId: string, extra: Partial<ClaimRecord> = {}): ClaimRecord {
  return {
    key,
    daemon,
    container: containerId,
    containerId,
    endpoint: `unix:///run/${daemon}.sock`,
    since: NOW - 60 * MIN,
    ...extra,
  };
}

function owner(daemon: string, containerId: string, since?: number): ClaimOwner {
  return { daemon, container: containerId, containerId, ...(since !== undefined ? { since } : {}) };
}

async function ledgerWith(
  records: readonly ClaimRecord[],
  dir = tempDir('claims-'),
): Promise<{ ledger: ClaimLedger; path: string }> {
  const path = join(dir, 'claims.json');
  if (records.length > 0) writeFileSync(path, JSON.stringify({ version: 1, claims: records }));
  const ledger = new ClaimLedger(new FileClaimStore(path, quiet), { graceMs: GRACE, logger: quiet });
  await ledger.load();
  return { ledger, path };
}

interface SettleCase {
  readonly desc: string;
  readonly held: readonly ClaimRecord[];
  readonly granted?: readonly [string, ClaimOwner][];
  readonly recordNew?: boolean;
  readonly daemons?: Readonly<Record<string, OwnerDaemon>>;
  /** Containers whose labels claim the key, by daemon (every key of the case). */
  readonly claimants?: Readonly<Record<string, readonly ContainerView[]>>;
  /** key → [container id, stoppedAt] after settling. */
  readonly want: Readonly<Record<string, readonly [string, number | undefined]>>;
  readonly released?: readonly string[];
}

const H = 'host app.example.com';
const cases: SettleCase[] = [
  {
    desc: 'a new grant is recorded once every daemon has answered',
    held: [],
    granted: [[H, owner('d1', 'c1', NOW)]],
    want: { [H]: ['c1', undefined] },
  },
  {
    desc: 'nothing new is recorded while a daemon has not answered yet',
    held: [],
    granted: [[H, owner('d1', 'c1', NOW)]],
    recordNew: false,
    want: {},
  },
  {
    desc: 'a held key granted again to its daemon keeps its date and goes to the serving container; the grace period ends',
    held: [rec(H, 'd1', 'old', { stoppedAt: NOW - MIN })],
    granted: [[H, owner('d1', 'new', NOW - 60 * MIN)]],
    want: { [H]: ['new', undefined] },
  },
  {
    desc: 'owner daemon down: held, whatever else',
    held: [rec(H, 'd1', 'c1')],
    daemons: { d1: { state: 'unreachable' } },
    want: { [H]: ['c1', undefined] },
  },
  {
    desc: 'owner daemon down: no expiry, even long after the owner stopped',
    held: [rec(H, 'd1', 'c1', { stoppedAt: NOW - 100 * MIN })],
    daemons: { d1: { state: 'unreachable' } },
    want: { [H]: ['c1', NOW - 100 * MIN] },
  },
  {
    desc: 'owner daemon gone (socket missing) within the grace period: held',
    held: [rec(H, 'd1', 'c1')],
    daemons: { d1: { state: 'gone', since: NOW - 9 * MIN } },
    want: { [H]: ['c1', undefined] },
  },
  {
    desc: 'owner daemon gone for longer than the grace period: released',
    held: [rec(H, 'd1', 'c1')],
    daemons: { d1: { state: 'gone', since: NOW - 10 * MIN } },
    want: {},
    released: [H],
  },
  {
    desc: 'owner removed and nothing else on its daemon claims the key: released',
    held: [rec(H, 'd1', 'c1')],
    want: {},
    released: [H],
  },
  {
    desc: 'owner running but not serving (unhealthy): held without expiry',
    held: [rec(H, 'd1', 'c1')],
    claimants: { d1: [view({ id: 'c1', daemon: 'd1', health: 'unhealthy' })] },
    want: { [H]: ['c1', undefined] },
  },
  {
    desc: 'owner stopped within the grace period: held, the grace counted from when it stopped',
    held: [rec(H, 'd1', 'c1')],
    claimants: {
      d1: [view({ id: 'c1', daemon: 'd1', running: false, finished: new Date(NOW - 3 * MIN).toISOString() })],
    },
    want: { [H]: ['c1', NOW - 3 * MIN] },
  },
  {
    desc: 'owner stopped longer than the grace period: released',
    held: [rec(H, 'd1', 'c1')],
    claimants: {
      d1: [view({ id: 'c1', daemon: 'd1', running: false, finished: new Date(NOW - 11 * MIN).toISOString() })],
    },
    want: {},
    released: [H],
  },
  {
    desc: 'a stop seen before keeps its time (a later FinishedAt does not restart the grace period)',
    held: [rec(H, 'd1', 'c1', { stoppedAt: NOW - 9 * MIN })],
    claimants: { d1: [view({ id: 'c1', daemon: 'd1', running: false, finished: new Date(NOW - MIN).toISOString() })] },
    want: { [H]: ['c1', NOW - 9 * MIN] },
  },
  {
    desc: 'stopped, time unknown: the grace period starts now',
    held: [rec(H, 'd1', 'c1')],
    claimants: { d1: [view({ id: 'c1', daemon: 'd1', running: false })] },
    want: { [H]: ['c1', NOW] },
  },
  {
    desc: 'owner removed during a deploy, its replacement created but not started: the replacement holds it',
    held: [rec(H, 'd1', 'old')],
    claimants: { d1: [view({ id: 'new', daemon: 'd1', running: false })] },
    want: { [H]: ['new', NOW] },
  },
  {
    desc: 'the recorded owner is preferred among several claimants of its daemon',
    held: [rec(H, 'd1', 'c2')],
    claimants: {
      d1: [view({ id: 'c1', daemon: 'd1', health: 'starting' }), view({ id: 'c2', daemon: 'd1', health: 'starting' })],
    },
    want: { [H]: ['c2', undefined] },
  },
];

describe('ClaimLedger.settle', () => {
  for (const c of cases) {
    test(c.desc, async () => {
      const { ledger } = await ledgerWith(c.held);
      const released = ledger.settle({
        granted: new Map(c.granted ?? []),
        now: NOW,
        recordNew: c.recordNew ?? true,
        daemon: (id) => c.daemons?.[id] ?? { state: 'ok', endpoint: `unix:///run/${id}.sock` },
        claimants: (daemon) => c.claimants?.[daemon] ?? [],
      });
      assert.deepEqual(released, c.released ?? []);
      const got = Object.fromEntries(ledger.list().map((r) => [r.key, [r.containerId, r.stoppedAt]]));
      assert.deepEqual(got, c.want);
      await ledger.flushed();
    });
  }

  test('new records are dated by the merge; held ones keep their first date', async () => {
    const { ledger } = await ledgerWith([rec('host a', 'd1', 'c1')]);
    ledger.settle({
      granted: new Map([
        ['host a', owner('d1', 'c1', NOW - 60 * MIN)],
        ['host b', owner('d2', 'c9', NOW)],
      ]),
      now: NOW,
      recordNew: true,
      daemon: (id) => ({ state: 'ok', endpoint: id }),
      claimants: () => [],
    });
    assert.deepEqual(
      ledger.list().map((r) => [r.key, r.since]),
      [
        ['host a', NOW - 60 * MIN],
        ['host b', NOW],
      ],
    );
    await ledger.flushed();
  });

  test("nextExpiry is the earliest end of a running grace period: a stopped owner's or a gone daemon's", async () => {
    const { ledger } = await ledgerWith([
      rec('host a', 'd1', 'c1', { stoppedAt: NOW - 2 * MIN }),
      rec('host b', 'd1', 'c1', { stoppedAt: NOW - 5 * MIN }),
      rec('host c', 'd2', 'c1'),
    ]);
    assert.equal(
      ledger.nextExpiry(() => undefined),
      NOW - 5 * MIN + GRACE,
    );
    assert.equal(
      ledger.nextExpiry((d) => (d === 'd2' ? NOW - 8 * MIN : undefined)),
      NOW - 8 * MIN + GRACE,
    );
  });
});

describe('claim ledger file', () => {
  test('what is settled is saved and read back by the next start', async () => {
    const dir = tempDir('claims-');
    const { ledger, path } = await ledgerWith([], dir);
    ledger.settle({
      granted: new Map([[H, { ...owner('d1', 'c1', NOW), repository: 'shop', created: '2026-12-07T11:00:00.5Z' }]]),
      now: NOW,
      recordNew: true,
      daemon: () => ({ state: 'ok', endpoint: 'unix:///run/d1.sock' }),
      claimants: () => [],
    });
    await ledger.flushed();
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { version: number; claims: ClaimRecord[] };
    assert.equal(saved.version, 1);
    assert.deepEqual(saved.claims, [
      {
        key: H,
        daemon: 'd1',
        container: 'c1',
        containerId: 'c1',
        repository: 'shop',
        created: '2026-12-07T11:00:00.5Z',
        endpoint: 'unix:///run/d1.sock',
        since: NOW,
      },
    ]);
    const again = await ledgerWith([], dir);
    assert.deepEqual(again.ledger.list(), saved.claims);
  });

  const corrupt = [
    { desc: 'truncated JSON', text: '{"version":1,"claims":[{"key":' },
    { desc: 'not an object', text: '[]' },
    { desc: 'unknown version', text: '{"version":7,"claims":[]}' },
    { desc: 'claims not a list', text: '{"version":1,"claims":{}}' },
    { desc: 'empty file', text: '' },
  ];
  for (const c of corrupt) {
    test(`a corrupt file (${c.desc}) is moved aside with a log line; claims start afresh`, async () => {
      const dir = tempDir('claims-');
      const path = join(dir, 'claims.json');
      writeFileSync(path, c.text);
      const lines: string[] = [];
      const log = pino(
        { level: 'info' },
        new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        }),
      );
      const ledger = new ClaimLedger(new FileClaimStore(path, log), { graceMs: GRACE, logger: log });
      await ledger.load();
      assert.deepEqual(ledger.list(), []);
      assert.equal(existsSync(path), false);
      const aside = readdirSync(dir).filter((f) => f.startsWith('claims.json.corrupt-'));
      assert.equal(aside.length, 1);
      assert.equal(readFileSync(join(dir, aside[0]!), 'utf8'), c.text, 'the bad file is kept for inspection');
      assert.ok(
        lines.some((l) => /claim ledger is corrupt: moved aside/.test(l)),
        lines.join(''),
      );
    });
  }

  test('malformed entries are skipped, the rest is kept', () => {
    const good = rec(H, 'd1', 'c1');
    const parsed = parseLedger(
      JSON.stringify({
        version: 1,
        claims: [good, { key: 'host x' }, null, 7, { ...good, key: 'host y', since: 'yesterday' }],
      }),
    );
    assert.deepEqual(parsed, { records: [good], skipped: 4 });
  });

  test('a ledger that cannot be written keeps its claims in memory and does not throw', async () => {
    const path = join(tempDir('claims-'), 'missing-dir', 'claims.json');
    const ledger = new ClaimLedger(new FileClaimStore(path, quiet), { graceMs: GRACE, logger: quiet });
    await ledger.load();
    ledger.settle({
      granted: new Map([[H, owner('d1', 'c1', NOW)]]),
      now: NOW,
      recordNew: true,
      daemon: () => ({ state: 'ok', endpoint: 'e' }),
      claimants: () => [],
    });
    await ledger.flushed();
    assert.deepEqual(
      ledger.list().map((r) => r.key),
      [H],
    );
  });
});
