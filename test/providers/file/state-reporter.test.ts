import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StateReporter } from '../../../src/providers/file/state-reporter.ts';
import { RecordingSink, memoryLogger } from './recording-sink.ts';

describe('StateReporter', () => {
  test('reports starting, then down before any success, degraded after one', () => {
    const { logger } = memoryLogger();
    const sink = new RecordingSink();
    const r = new StateReporter(logger);
    r.attach(sink);
    r.fail('boom', 'p');
    r.ok(true, 'p');
    r.fail('boom', 'p');
    assert.deepEqual(
      sink.states.map((s) => s.status),
      ['starting', 'down', 'ok', 'degraded'],
    );
    assert.equal(sink.lastState?.error, 'boom');
    assert.equal(typeof sink.lastState?.lastUpdate, 'number');
  });

  test('the same error repeated is logged and reported once', () => {
    const { logger, lines } = memoryLogger();
    const sink = new RecordingSink();
    const r = new StateReporter(logger);
    r.attach(sink);
    r.ok(true, 'p');
    for (let i = 0; i < 5; i++) r.fail('connection refused', 'p');
    r.fail('HTTP 500', 'p');
    r.fail('HTTP 500', 'p');
    r.ok(false, 'p');
    r.ok(false, 'p');
    assert.deepEqual(
      sink.states.map((s) => `${s.status}:${s.error ?? ''}`),
      ['starting:', 'ok:', 'degraded:connection refused', 'degraded:HTTP 500', 'ok:'],
    );
    const errors = lines.filter((l) => l['level'] === 50);
    assert.deepEqual(
      errors.map((l) => l['error']),
      ['connection refused', 'HTTP 500'],
    );
    assert.equal(lines.filter((l) => String(l['msg']).includes('recovered')).length, 1);
  });

  test('a publish re-sends the state with a new lastUpdate even when still ok', () => {
    const { logger } = memoryLogger();
    const sink = new RecordingSink();
    const r = new StateReporter(logger);
    r.attach(sink);
    r.ok(true, 'p');
    r.ok(true, 'p');
    assert.equal(sink.states.length, 3);
  });
});
