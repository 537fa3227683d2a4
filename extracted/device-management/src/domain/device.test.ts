import { applySettings, commandSettings, unsupportedSettings } from './device';

describe('applySettings', () => {
  const current = { on: false, targetTemperature: 20 };
  it.each([
    [{ on: true }, { on: true, targetTemperature: 20 }, ['on']],
    [{ targetTemperature: 22.5 }, { on: false, targetTemperature: 22.5 }, ['targetTemperature']],
    [{ on: true, targetTemperature: 21 }, { on: true, targetTemperature: 21 }, ['on', 'targetTemperature']],
    [{ on: false, targetTemperature: 20 }, current, []],
    [{}, current, []],
  ])('%j → %j, changed %j', (patch, next, changed) => {
    expect(applySettings(current, patch)).toEqual({ next, changed });
  });

  it("compares doubles like the monolith's save-if-changed (NaN equals NaN, -0.0 differs from 0.0)", () => {
    expect(applySettings({ on: true, targetTemperature: NaN }, { targetTemperature: NaN }).changed).toEqual([]);
    expect(applySettings({ on: true, targetTemperature: 0 }, { targetTemperature: -0 }).changed).toEqual([
      'targetTemperature',
    ]);
  });
});

describe('capabilities', () => {
  it('a sensor has no settings', () => {
    expect(unsupportedSettings('temperature_sensor', { on: true })).toEqual(['on']);
    expect(unsupportedSettings('heating', { on: true, targetTemperature: 20 })).toEqual([]);
  });
  it('commands are settings changes', () => {
    expect(commandSettings({ type: 'turn-on' })).toEqual({ on: true });
    expect(commandSettings({ type: 'turn-off' })).toEqual({ on: false });
    expect(commandSettings({ type: 'set-target-temperature', targetTemperature: 21.5 })).toEqual({
      targetTemperature: 21.5,
    });
  });
});
