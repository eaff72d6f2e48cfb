/**
 * With a broker ACL a board can only publish under its own topic (issue 3): a real mosquitto with
 * `allow_anonymous false`, a password file and `pattern readwrite lab/%u/#`. Over MQTT 5 a publish
 * the ACL denies is answered with PUBACK reason code 135 (Not authorized); over 3.1.1 mosquitto
 * would drop it silently (FACTS.md), which is why the lab uses MQTT 5 with real brokers.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardSession } from '../../harness/boards/session.js';
import { MqttLink } from '../../harness/links/mqtt-link.js';
import { encodeMessage, type BoardIdentity } from '../../harness/protocol/index.js';
import { mosquittoTarget, type ConformanceRig } from './targets.js';

describe('mosquitto ACL: a board publishes under its own topic only', () => {
  let rig: ConformanceRig;
  let s: BoardSession;
  let intruder: MqttClient | undefined;
  const reboots: BoardIdentity[] = [];

  beforeAll(async () => {
    rig = await mosquittoTarget.start();
    s = rig.session();
    s.onReboot((id) => reboots.push(id));
    await s.connect(10_000); // the harness user reaches the board (full access to lab/#)
  });

  afterAll(async () => {
    await intruder?.endAsync(true);
    await s?.close();
    await rig?.stop();
  });

  it("a board user publishing on another board's topic is refused with MQTT 5 reason code 135, and the harness never sees it", async () => {
    const { url, users } = rig.mosquitto!;
    intruder = await connectAsync(url, { protocolVersion: 5, clientId: 'conformance-sim-2', username: 'sim-2', password: users['sim-2'], reconnectPeriod: 0 });
    const forged = encodeMessage({ requestId: 0, simulated: true, more: false, body: { type: 'hello', ...s.identity!, uptimeMs: 5, resetReason: 9 } });
    const refused = await intruder.publishAsync('lab/sim-1/evt', Buffer.from(forged), { qos: 1 }).then(() => undefined, (e: Error & { code?: number }) => e);
    expect(refused?.code).toBe(135);
    expect(refused?.message).toBe('Publish error: Not authorized');
    // Its own topic is fine.
    await expect(intruder.publishAsync('lab/sim-2/log', 'I (1) main: hello from sim-2', { qos: 1 })).resolves.toBeDefined();
    expect((await s.ping(10_000)).bytes).toBe(16);
    expect(reboots).toEqual([]); // the forged "brownout HELLO" never reached the harness
    expect(s.state).toBe('ready');
  });

  it("a board user cannot send commands to another board: the link says which reason code and what to fix", async () => {
    const { url, users } = rig.mosquitto!;
    const link = new MqttLink({ board: 'sim-1', url, topic: 'lab/sim-1', username: 'sim-2', password: users['sim-2'] });
    try {
      await link.open();
      const ping = encodeMessage({ requestId: 1, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array([1]) } });
      await expect(link.send(ping)).rejects.toMatchObject({
        code: 'link-refused',
        message: "board sim-1: the MQTT broker refused the command on lab/sim-1/cmd (MQTT 5 reason code 135: Not authorized): give the harness user write access to lab/sim-1/# in the broker's ACL",
      });
    } finally {
      await link.close();
    }
  });

  it('a wrong password and an anonymous login are refused at connect, in one sentence', async () => {
    const { url } = rig.mosquitto!;
    const wrong = new MqttLink({ board: 'sim-1', url, topic: 'lab/sim-1', username: 'harness', password: 'not-it' });
    await expect(wrong.open()).rejects.toMatchObject({
      code: 'link-refused',
      message: `board sim-1: the MQTT broker at ${url} did not authorize user harness (Connection refused: Not authorized): check the broker's password file and ACL`,
    });
    const anonymous = new MqttLink({ board: 'sim-1', url, topic: 'lab/sim-1' });
    await expect(anonymous.open()).rejects.toMatchObject({ code: 'link-refused' });
  });
});
