import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODEL_CONFIG, groupsFor, headsFor, resolveModelConfig, validateModelConfig } from '../src/model/config.ts';
import { UsageError } from '../src/errors.ts';

function rejects(input: unknown, pattern: RegExp): void {
  assert.throws(
    () => resolveModelConfig(input, 'base.model'),
    (e: unknown) => e instanceof UsageError && pattern.test(e.message),
  );
}

describe('model config', () => {
  it('an empty object resolves to the documented defaults', () => {
    assert.deepEqual(resolveModelConfig({}), DEFAULT_MODEL_CONFIG);
  });
  it('partial mrpe keeps the other part at its default', () => {
    const c = resolveModelConfig({ mrpe: { framePE: false } });
    assert.deepEqual(c.mrpe, { framePE: false, relBias: true, locality: 0 });
  });
  it('errors name the field and say what was expected', () => {
    rejects({ frames: 0 }, /^base\.model\.frames: expected a positive integer, got 0/);
    rejects({ windows: [4, 3] }, /base\.model\.windows: has 2 entries but base\.model\.channelMults has 4/);
    rejects({ windows: [4, 3, 'x', 1] }, /base\.model\.windows\[2\]: expected a positive integer/);
    rejects({ attention: 'global' }, /base\.model\.attention: expected one of wtsa, spatial, none/);
    rejects({ mrpe: { framePE: 1 } }, /base\.model\.mrpe\.framePE: expected true or false/);
    rejects({ mrpe: { locality: -0.5 } }, /base\.model\.mrpe\.locality: expected a number ≥ 0, got -0\.5/);
    rejects({ mrpe: { locality: 'near' } }, /base\.model\.mrpe\.locality: expected a number ≥ 0/);
    rejects({ mrpe: { temporal: true } }, /base\.model\.mrpe\.temporal: unknown key/);
    rejects({ widths: 3 }, /base\.model\.widths: unknown key/);
    rejects({ dropout: 1 }, /base\.model\.dropout: expected a number in \[0, 1\)/);
    rejects({ baseChannels: 48, headChannels: 32 }, /base\.model\.headChannels: level 0 has 48 channels/);
    rejects([], /base\.model: expected an object/);
  });
  it('a config.json written before mrpe.locality existed reads as locality 0 (how those trials started)', () => {
    const older = structuredClone(DEFAULT_MODEL_CONFIG) as unknown as Record<string, unknown> & { mrpe: Record<string, unknown> };
    delete older.mrpe.locality;
    assert.equal(validateModelConfig(older).mrpe.locality, 0);
  });
  it('groups clamp to a divisor of the channel count; heads are at least one', () => {
    assert.equal(groupsFor(64, 32), 32);
    assert.equal(groupsFor(24, 32), 24);
    assert.equal(groupsFor(48, 32), 24);
    assert.equal(groupsFor(7, 4), 1);
    assert.equal(headsFor(64, 32), 2);
    assert.equal(headsFor(8, 32), 1);
  });
});
