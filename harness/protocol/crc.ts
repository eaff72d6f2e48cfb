/**
 * The two checksums of the board protocol (firmware/protocol/PROTOCOL.md section 1).
 *
 * - CRC-32/ISO-HDLC (the zlib / Ethernet CRC: reflected 0xEDB88320, init and final xor
 *   0xFFFFFFFF) over header + payload. The ESP32-S3 ROM has it as `esp_rom_crc32_le(0, ...)`.
 * - CRC-16/CCITT-FALSE (0x1021, init 0xFFFF, not reflected) over the first 10 header bytes, so a
 *   false sync is rejected before the decoder trusts the length.
 *
 * Table-driven, one byte per step: far above any serial or MQTT link's rate (see the report of
 * `harness/protocol` for measured decoder throughput), and no native dependency.
 */

const CRC32_TABLE = buildCrc32Table();
const CRC16_TABLE = buildCrc16Table();

function buildCrc32Table(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function buildCrc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[n] = c;
  }
  return table;
}

/** CRC-32/ISO-HDLC of `data[start, end)`; equals Node's `zlib.crc32` of the same bytes. */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-16/CCITT-FALSE of `data[start, end)` (check value of "123456789" is 0x29B1). */
export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffff;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ CRC16_TABLE[((c >>> 8) ^ data[i]) & 0xff];
  return c;
}
