import { describe, expect, it } from 'vitest';
import type { BoardConfig } from '../config/types.js';
import { MqttLink } from './mqtt-link.js';
import { createLink } from './open-link.js';
import { Rfc2217Link } from './rfc2217-link.js';
import { SerialLink } from './serial-link.js';
import { TcpLink } from './tcp-link.js';

const board = (transport: BoardConfig['transport']): BoardConfig => ({ id: 'bench-1', chip: 'esp32s3', transport, identity: {}, tags: [] });
const serial = { port: '/dev/serial/by-id/usb-Espressif-1', baud: 115200, flashBaud: 921600, reset: 'classic' as const };
const mqtt = { topic: 'lab/bench-1' };
const tcp = { host: 'ser2net.lab', port: 3001 };

describe('createLink', () => {
  it('any: serial first, MQTT when there is no port', () => {
    expect(createLink(board({ serial, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' })).toBeInstanceOf(SerialLink);
    const l = createLink(board({ mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' });
    expect(l).toBeInstanceOf(MqttLink);
    expect(l.address).toBe('lab/bench-1');
  });

  it('any: serial, then a TCP serial port, then MQTT', () => {
    expect(createLink(board({ serial, tcp, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' })).toBeInstanceOf(SerialLink);
    const l = createLink(board({ tcp, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' });
    expect(l).toBeInstanceOf(TcpLink);
    expect(l).toMatchObject({ kind: 'tcp', address: 'tcp://ser2net.lab:3001' });
    expect(createLink(board({ tcp: { host: '127.0.0.1', port: 0 }, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' })).toBeInstanceOf(MqttLink);
    expect(() => createLink(board({ mqtt }), { transport: 'any' })).toThrow('board bench-1: no usable link: give it transport.serial.port, transport.rfc2217, transport.tcp or transport.mqtt (with a broker) in rigs.json');
  });

  it('any: an RFC 2217 port comes after a local serial port and before a raw TCP one; it carries the rig\'s baud and reset', () => {
    const rfc2217 = { host: 'bench-host.lab', port: 4001, baud: 921600, flashBaud: 921600, reset: 'none' as const };
    expect(createLink(board({ serial, rfc2217, tcp }), { transport: 'any' })).toBeInstanceOf(SerialLink);
    const l = createLink(board({ rfc2217, tcp, mqtt }), { transport: 'any', brokerUrl: 'mqtt://h' });
    expect(l).toBeInstanceOf(Rfc2217Link);
    expect(l).toMatchObject({ kind: 'rfc2217', address: 'rfc2217://bench-host.lab:4001' });
    expect(() => createLink(board({ tcp }), { transport: 'rfc2217' })).toThrow('board bench-1 has no RFC 2217 transport in rigs.json: add "rfc2217": "host:port" (ser2net\'s telnet(rfc2217) port), or use another transport');
  });

  it('tcp: the port rigs.json gives, or the one the lab chose for port 0', () => {
    expect(createLink(board({ tcp }), { transport: 'tcp' }).address).toBe('tcp://ser2net.lab:3001');
    const chosen = createLink(board({ tcp: { host: '127.0.0.1', port: 0 } }), { transport: 'tcp', tcpAddress: { host: '127.0.0.1', port: 40123 } });
    expect(chosen.address).toBe('tcp://127.0.0.1:40123');
    expect(() => createLink(board({ tcp: { host: '127.0.0.1', port: 0 } }), { transport: 'tcp' }))
      .toThrow('board bench-1: transport.tcp has port 0, which stands for the port the lab picks when it starts the board itself, and nothing started it here: let hil run start it, or put the port it listens on (hil sim prints it) in rigs.json');
  });

  it('a transport the board does not have', () => {
    expect(() => createLink(board({ serial, mqtt }), { transport: 'tcp' })).toThrow('board bench-1 has no TCP transport in rigs.json: add "tcp": "host:port" (the emulator\'s or ser2net\'s port) to its transport, or use the serial transport');
    expect(() => createLink(board({ mqtt }), { transport: 'tcp' })).toThrow('board bench-1 has no TCP transport in rigs.json: add "tcp": "host:port" (the emulator\'s or ser2net\'s port) to its transport, or use the MQTT transport');
    expect(() => createLink(board({ tcp }), { transport: 'serial' })).toThrow('board bench-1 has no serial transport in rigs.json: add transport.serial, or use the TCP transport');
    expect(() => createLink(board({ tcp }), { transport: 'mqtt', brokerUrl: 'mqtt://h' })).toThrow('board bench-1 has no MQTT transport in rigs.json: add transport.mqtt with its topic, or use the TCP transport');
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
