import { describe, expect, it } from 'vitest';
import type { BoardConfig } from '../config/types.js';
import { MqttLink } from './mqtt-link.js';
import { createLink } from './open-link.js';
import { SerialLink } from './serial-link.js';

const board = (transport: BoardConfig['transport']): BoardConfig => ({ id: 'bench-1', chip: 'esp32s3', transport, identity: {}, tags: [] });
const serial = { port: '/dev/serial/by-id/usb-Espressif-1', baud: 115200, flashBaud: 921600, reset: 'classic' as const };
const mqtt = { topic: 'lab/bench-1' };

describe('createLink', () => {
  it('any: serial first, MQTT when there is no port', () => {
    expect(createLink(board({ serial, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' })).toBeInstanceOf(SerialLink);
    const l = createLink(board({ mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' });
    expect(l).toBeInstanceOf(MqttLink);
    expect(l.address).toBe('lab/bench-1');
  });

  it('a transport the board does not have', () => {
    expect(() => createLink(board({ mqtt }), { transport: 'serial' })).toThrow('board bench-1 has no serial transport in rigs.json: add transport.serial, or use the MQTT transport');
    expect(() => createLink(board({ serial }), { transport: 'mqtt', brokerUrl: 'mqtt://h' })).toThrow('board bench-1 has no MQTT transport in rigs.json');
    expect(() => createLink(board({ mqtt }), { transport: 'mqtt' })).toThrow('board bench-1: no MQTT broker given: set mqtt.url in rigs.json');
  });

  it('credentials come from the environment variables rigs.json names; a missing one is named', () => {
    const broker = { url: 'mqtt://h', credentials: { usernameEnv: 'HIL_MQTT_USER', passwordEnv: 'HIL_MQTT_PASS' } };
    expect(() => createLink(board({ mqtt }), { transport: 'mqtt', broker, env: { HIL_MQTT_USER: 'harness' } }))
      .toThrow("board bench-1: the MQTT login's environment variable HIL_MQTT_PASS is not set (rigs.json mqtt.credentials names it): export it before running");
    expect(createLink(board({ mqtt }), { transport: 'mqtt', broker, env: { HIL_MQTT_USER: 'harness', HIL_MQTT_PASS: 's3cret' } })).toBeInstanceOf(MqttLink);
  });

  it('an unreachable broker is one sentence', async () => {
    const l = createLink(board({ mqtt }), { transport: 'mqtt', brokerUrl: 'mqtt://127.0.0.1:1' });
    await expect(l.open()).rejects.toMatchObject({ code: 'link-missing', message: 'board bench-1: nothing listens at the MQTT broker address mqtt://127.0.0.1:1: start the broker, or fix mqtt.url in rigs.json' });
  });
});
