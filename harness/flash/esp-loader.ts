/**
 * esptool-js's ESPLoader with one correction for the ESP32-S3: its chip revision.
 *
 * esptool-js 0.7's ESP32S3ROM extends ESP32ROM and does not override `getChipRevision`, so it
 * inherits the ESP32's: a read of the ESP32's eFuse word 3 at 0x3FF5A00C (plus word 5 and an APB
 * register). That address does not exist on the S3. The S3's ROM loader faults on the read and
 * panics ("Guru Meditation"), and the flasher then sees the panic text as "Invalid head of packet
 * (0x47)" - found against the chip's real ROM in Espressif's QEMU (../shared/esp-kit/README.md);
 * a simulated ROM that answers every register read never shows it. esptool-js calls it before it
 * uploads the stub (runStub, to pick the stub for the revision) and in memBegin.
 *
 * The S3 keeps its revision in its own eFuse block 1 fields, which ESP32S3ROM already reads for its
 * chip description (`getMajorChipVersion` / `getMinorChipVersion`, the fields esptool's
 * targets/esp32s3.py reads); esptool's revision number is major * 100 + minor.
 */
import { ESPLoader } from 'esptool-js';

/** esptool's chip revision: major * 100 + minor (e.g. 3 for v0.3, 102 for v1.2). */
export function chipRevisionNumber(major: number, minor: number): number {
  return major * 100 + minor;
}

export class LabLoader extends ESPLoader {
  override async detectChip(mode?: string, attempts?: number): Promise<void> {
    await super.detectChip(mode as Parameters<ESPLoader['detectChip']>[0], attempts);
    const chip = this.chip as ESPLoader['chip'] & {
      getMajorChipVersion?(loader: ESPLoader): Promise<number>;
      getMinorChipVersion?(loader: ESPLoader): Promise<number>;
    };
    if (chip?.CHIP_NAME === 'ESP32-S3' && chip.getMajorChipVersion && chip.getMinorChipVersion) {
      const major = chip.getMajorChipVersion.bind(chip);
      const minor = chip.getMinorChipVersion.bind(chip);
      chip.getChipRevision = async (loader: ESPLoader) => chipRevisionNumber(await major(loader), await minor(loader));
    }
  }
}
