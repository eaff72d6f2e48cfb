/** Links to boards (README.md in this folder): one interface, over serial, raw TCP serial ports and MQTT. */
export type { BoardPresence, Clock, Link, LinkEvents, LinkFrameError, LinkKind, LinkStats } from './link.js';
export { systemClock } from './link.js';
export { SerialLink, type SerialLinkOptions } from './serial-link.js';
export { TcpLink, type TcpLinkOptions } from './tcp-link.js';
export { connectTcp, parseTcpUrl, tcpConnectError, tcpConnectFailure, tcpUrl, type TcpAddress } from './tcp-connect.js';
export { MqttLink, type MqttLinkOptions } from './mqtt-link.js';
export { createLink, openLink, type BrokerChoice, type OpenLinkOptions, type TransportChoice } from './open-link.js';
export { serialOpenError } from './serial-errors.js';
