/**
 * Memory of the modules a simulated board can imitate. The names follow Espressif's DevKitC-1
 * ordering codes: N<flash MB> R<PSRAM MB> (ESP32-S3-DevKitC-1 user guide, "Ordering Information":
 * -N8, -N8R2, -N8R8, -N16R8). R2 modules carry quad PSRAM, R8 octal.
 */
import type { EmulatedProfileName, SimulatedProfileName } from './types.js';

export interface SimulatedProfile {
  flashBytes: number;
  psramBytes: number;
  psramMode: 'none' | 'quad' | 'octal';
}

const MiB = 1024 * 1024;

export const SIMULATED_PROFILES: Record<SimulatedProfileName, SimulatedProfile> = {
  'esp32s3-devkitc-1-n16r8': { flashBytes: 16 * MiB, psramBytes: 8 * MiB, psramMode: 'octal' },
  'esp32s3-devkitc-1-n8r8': { flashBytes: 8 * MiB, psramBytes: 8 * MiB, psramMode: 'octal' },
  'esp32s3-devkitc-1-n8r2': { flashBytes: 8 * MiB, psramBytes: 2 * MiB, psramMode: 'quad' },
  'esp32s3-devkitc-1-n8': { flashBytes: 8 * MiB, psramBytes: 0, psramMode: 'none' },
};

/**
 * What QEMU's esp32s3 machine is given for an emulated board's profile (harness/emu/qemu.ts): the
 * flash image size picks QEMU's flash chip model (8 MB: GD25Q64, 16 MB: IS25LP128), `-m` the
 * PSRAM behind its ssi_psram device (octal, as on the N8R8 / N16R8 modules).
 */
export const EMULATED_PROFILES: Record<EmulatedProfileName, SimulatedProfile> = {
  'esp32s3-devkitc-1-n16r8': { flashBytes: 16 * MiB, psramBytes: 8 * MiB, psramMode: 'octal' },
  'esp32s3-devkitc-1-n8r8': { flashBytes: 8 * MiB, psramBytes: 8 * MiB, psramMode: 'octal' },
  'esp32s3-devkitc-1-n8': { flashBytes: 8 * MiB, psramBytes: 0, psramMode: 'none' },
};
