import { IDENTITY_SCOPES, identityHeadersOf } from '@warmhouse/messaging';
import { waitFor } from '@warmhouse/shared';
import {
  startService as startDeviceManagement,
  testEnvironment as deviceManagementEnvironment,
} from '../../../device-management/test/integration/support';
import { untilSaga } from '../../../device-management/test/integration/saga-support';
import { startService, testEnvironment, type TestEnvironment } from './support';

/**
 * Ownership across both services over real Kafka and PostgreSQL (docs/identity-headers.md): user A connects a
 * device through device management, the connect-device saga carries A to telemetry, a gateway sends the device's
 * readings with its `telemetry:ingest` token, and only A (and an operator) can read them.
 */
describe('telemetry readings belong to the owner of the device (both services, identity required)', () => {
  let tm: TestEnvironment;
  let dm: Awaited<ReturnType<typeof deviceManagementEnvironment>>;
  let telemetry: Awaited<ReturnType<typeof startService>>;
  let devices: Awaited<ReturnType<typeof startDeviceManagement>>;
  let userA: Record<string, string>;
  let userB: Record<string, string>;
  const operator = identityHeadersOf({ subject: 'ops', scopes: [IDENTITY_SCOPES.operator] });
  const gateway = identityHeadersOf({ subject: 'gateway-1', scopes: [IDENTITY_SCOPES.telemetryIngest] });

  beforeAll(async () => {
    tm = await testEnvironment();
    dm = await deviceManagementEnvironment();
    const topics = { commands: `owner-${tm.suffix}.commands`, replies: `owner-${tm.suffix}.replies` };
    telemetry = await startService(
      tm.env({
        TELEMETRY_ROLES: 'api,projector,saga',
        TELEMETRY_SAGA_COMMANDS_TOPIC: topics.commands,
        TELEMETRY_SAGA_REPLIES_TOPIC: topics.replies,
        TELEMETRY_SAGA_GROUP: `owner-${tm.suffix}.telemetry`,
        TELEMETRY_FIRST_READING_POLL_MS: '200',
        TELEMETRY_REQUIRE_IDENTITY: 'true',
      }),
      'ownership',
    );
    devices = await startDeviceManagement(
      dm.env({
        CDC_SYNC_ENABLED: 'false',
        WRITE_BACK_ENABLED: 'false',
        SAGA_COMMANDS_TOPIC: topics.commands,
        SAGA_REPLIES_TOPIC: topics.replies,
        SAGA_GROUP_ID: `owner-${tm.suffix}.orchestrator`,
        SAGA_TIMER_MS: '200',
        OUTBOX_POLL_MS: '100',
        DEVICE_MANAGEMENT_REQUIRE_IDENTITY: 'true',
      }),
      'ownership',
    );
    userA = identityHeadersOf({ subject: `alice-${tm.suffix}`, scopes: ['openid'] });
    userB = identityHeadersOf({ subject: `bob-${tm.suffix}`, scopes: ['openid'] });
  });
  afterAll(async () => {
    await devices?.stop();
    await telemetry?.stop();
    await dm?.close();
    await tm?.close();
  });

  const call = async (url: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const temperature = { metric: 'temperature', value: 20.5, unit: 'Cel' };
  const houseId = () => `house-${tm.suffix}`;
  const reading = (deviceId: string) => ({
    ...temperature,
    deviceId,
    houseId: houseId(),
    measuredAt: new Date().toISOString(),
  });

  it('a device connected by A has telemetry readable by A only (and operators); ingest needs the device scope', async () => {
    const started = await call(`${devices.url}/api/v1/devices/connect`, userA, {
      type: 'temperature_sensor',
      name: 'Hall sensor',
      houseId: houseId(),
    });
    expect(started.status).toBe(202);
    const { sagaId, deviceId } = started.body as { sagaId: string; deviceId: string };
    expect((await call(`${devices.url}/api/v1/devices/connect/${sagaId}`, userB, undefined)).status).toBe(404);
    await untilSaga(devices.url, sagaId, 'awaiting_first_reading', 60_000, userA);
    const { rows } = await tm.db.query('SELECT owner_id FROM provisioning.devices WHERE device_id = $1', [deviceId]);
    expect(rows).toEqual([{ owner_id: userA['x-strangler-subject'] }]);

    // a user's token is not a gateway's: 403 naming the scope; no caller at all: 401
    const asUser = await call(`${telemetry.url}/api/v1/telemetry`, userA, reading(deviceId));
    expect(asUser).toMatchObject({ status: 403, body: { code: 'TELEMETRY_ERR_FORBIDDEN' } });
    expect(asUser.body.detail).toContain(IDENTITY_SCOPES.telemetryIngest);
    expect((await call(`${telemetry.url}/api/v1/telemetry`, {}, reading(deviceId))).status).toBe(401);
    expect((await call(`${telemetry.url}/api/v1/telemetry`, gateway, reading(deviceId))).status).toBe(202);
    // a device of the same house that nobody owns (never connected): operators only
    const stray = `stray-${tm.suffix}`;
    expect((await call(`${telemetry.url}/api/v1/telemetry`, gateway, reading(stray))).status).toBe(202);
    await untilSaga(devices.url, sagaId, 'completed', 60_000, userA);

    const latest = `${telemetry.url}/api/v1/telemetry/devices/${deviceId}/latest`;
    const history = `${telemetry.url}/api/v1/telemetry/devices/${deviceId}/metrics/temperature/history`;
    const summary = `${telemetry.url}/api/v1/telemetry/houses/${houseId()}/summary`;
    expect(await call(latest, userA)).toMatchObject({ status: 200, body: { deviceId } });
    expect((await call(history, userA)).status).toBe(200);
    await waitFor(`both devices in the summary of ${houseId()}`, async () => {
      const all = await call(summary, operator);
      return all.status === 200 && all.body.deviceCount === 2 ? true : undefined;
    });
    const mine = await call(summary, userA);
    expect(mine).toMatchObject({ status: 200, body: { deviceCount: 1, devices: [{ deviceId }] } });
    expect(await call(latest, operator)).toMatchObject({ status: 200, body: { deviceId } });
    expect((await call(`${telemetry.url}/api/v1/telemetry/devices/${stray}/latest`, userA)).status).toBe(404);

    const probed = await call(latest, userB);
    expect(probed).toMatchObject({ status: 404, body: { code: 'TELEMETRY_ERR_DEVICE_UNKNOWN' } });
    expect((await call(history, userB)).status).toBe(404);
    expect((await call(summary, userB)).status).toBe(404);
    expect(await call(latest, {})).toMatchObject({ status: 401, body: { code: 'TELEMETRY_ERR_UNAUTHENTICATED' } });
  });
});
