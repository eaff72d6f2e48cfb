/**
 * The board protocol v1 (firmware/protocol/PROTOCOL.md): frames, the streaming decoder, typed
 * messages, error codes and chunking. Pure: no I/O (the `Transform` in stream.ts only adapts the
 * decoder to Node streams).
 */
export * from './crc.js';
export * from './errors.js';
export * from './frame.js';
export * from './messages.js';
export * from './json.js';
export * from './chunking.js';
export * from './stream.js';
export { bytesToHex, hexToBytes } from './wire.js';
