/** The lab's configuration: rigs.json, scenarios/*.json, firmware/variants/*.json. */
export type * from './types.js';
export { GATE_METRICS } from './types.js';
export { loadRigs } from './rigs.js';
export { loadScenario, type ArenaEstimator, type LoadScenarioOptions, INTERNAL_SRAM_BYTES } from './scenario.js';
export { loadFirmwareVariant, loadFirmwareVariants } from './firmware-variants.js';
export { selectBoards, type SelectedBoard, type SelectOptions } from './select.js';
export { EMULATED_PROFILES, SIMULATED_PROFILES, type SimulatedProfile } from './profiles.js';
export { kindOfSchemaRef, fileLabel, detectConfigKind } from './read.js';
export { SCHEMA_FILES, type ConfigKind } from './schema-check.js';
