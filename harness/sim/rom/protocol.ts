/**
 * The esptool serial protocol's packet format, opcodes and status codes, as the ESP32-S3 ROM loader
 * and the esptool flasher stub speak it. Sources: espressif/esptool
 * docs/en/advanced-topics/serial-protocol.rst (FACTS.md "The ROM serial loader") and the stub's
 * flasher_stub/include/stub_flasher.h (error codes 0xC0..0xFF).
 *
 * Request:  u8 0x00, u8 op, u16 size, u32 checksum, data[size]
 * Response: u8 0x01, u8 op, u16 size, u32 value,   data, status bytes
 * Status bytes: ROM 4 bytes [fail?, error, 0, 0]; stub 2 bytes [error, status] (0, 0 = success).
 */
export const Op = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  // Stub only.
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export function opName(op: number): string {
  return Object.entries(Op).find(([, v]) => v === op)?.[0] ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/** ROM loader error values (serial-protocol.rst "ROM Loader Errors"). */
export const RomError = {
  INVALID_PARAMETER: 0x01,
  INVALID_MESSAGE: 0x05,
  FAILED: 0x06,
  CHECKSUM: 0x07,
  FLASH_WRITE: 0x08,
  FLASH_READ: 0x09,
  FLASH_READ_LENGTH: 0x0a,
  DEFLATE: 0x0b,
  RAM_SIZE: 0x0e,
  RAM_ADDRESS: 0x0f,
} as const;

/** Flasher stub error codes (esptool flasher_stub/include/stub_flasher.h `esp_command_error`). */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

/** The protocol's data checksum: 0xEF XOR every byte of the "data to write". */
export const CHECKSUM_SEED = 0xef;
export function checksum(data: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of data) c ^= b;
  return c;
}

export interface Request {
  op: number;
  checksum: number;
  data: Uint8Array;
}

/** Parse a request frame; returns a reason string for malformed ones (the loader answers INVALID_MESSAGE). */
export function parseRequest(frame: Uint8Array): Request | { invalid: string; op?: number } {
  if (frame.length < 8) return { invalid: `frame of ${frame.length} bytes is shorter than the 8-byte header`, op: frame.length >= 2 ? frame[1] : undefined };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const op = frame[1]!;
  if (frame[0] !== 0x00) return { invalid: `direction byte is 0x${frame[0]!.toString(16)}, not 0x00 (request)`, op };
  const size = view.getUint16(2, true);
  if (size !== frame.length - 8) return { invalid: `size field says ${size} bytes but ${frame.length - 8} followed`, op };
  return { op, checksum: view.getUint32(4, true), data: frame.subarray(8) };
}

export function buildResponse(op: number, value: number, data: Uint8Array, status: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length + status.length);
  const view = new DataView(out.buffer);
  out[0] = 0x01;
  out[1] = op;
  view.setUint16(2, data.length + status.length, true);
  view.setUint32(4, value >>> 0, true);
  out.set(data, 8);
  out.set(status, 8 + data.length);
  return out;
}

/** Little-endian u32 words of a payload (missing words read as 0). */
export function words(data: Uint8Array, count: number): number[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: count }, (_, i) => (i * 4 + 4 <= data.length ? view.getUint32(i * 4, true) : 0));
}
