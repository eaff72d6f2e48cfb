/**
 * A simulated board's flash file with a model in its `model` partition, as `hil model image` +
 * `hil flash` leave it: the factory firmware (when the file is new) and the partition image
 * (harness/flash/model-image.ts) at the partition table's `model` entry. Call it before the board
 * starts (SimBoard.start / startSimFleet with `flashDir` read `<flashDir>/<board>.flash`).
 */
import { SIMULATED_PROFILES } from '../../config/profiles.js';
import type { SimulatedProfileName } from '../../config/types.js';
import { MODEL_PARTITION_SUBTYPE, modelImage } from '../../flash/model-image.js';
import { parsePartitionTable, PARTITION_TABLE_OFFSET } from '../../flash/partition-table.js';
import { FLASH_SECTOR_SIZE, SimFlash } from '../flash-memory.js';
import { installSimulatedFirmware, isBlank } from '../app/firmware-image.js';
import { parseVariant } from '../app/variants.js';

/** Writes `model`'s partition image into the flash file; returns the partition's offset. */
export function writeModelPartition(flashPath: string, model: Uint8Array, options: { source?: string; profile?: SimulatedProfileName; variant?: string } = {}): number {
  const profile = SIMULATED_PROFILES[options.profile ?? 'esp32s3-devkitc-1-n16r8'];
  const flash = SimFlash.open(flashPath, profile.flashBytes);
  try {
    if (isBlank(flash)) installSimulatedFirmware(flash, parseVariant(options.variant ?? 'esp-nn')!);
    const table = parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, 0xc00), `${flashPath} partition table`);
    const partition = table.find((p) => p.type === 0x01 && p.subtype === MODEL_PARTITION_SUBTYPE && p.label === 'model');
    if (!partition) throw new Error(`${flashPath}: the partition table has no model partition`);
    const image = modelImage(model, options.source ?? 'model.tflite');
    if (image.length > partition.size) throw new Error(`${flashPath}: a ${image.length}-byte model image does not fit the ${partition.size}-byte model partition`);
    flash.eraseRange(partition.offset, Math.ceil(image.length / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE);
    flash.program(partition.offset, image);
    return partition.offset;
  } finally {
    flash.close();
  }
}
