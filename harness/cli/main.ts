// Entry point of the `hil` command (bin/hil.js loads it through tsx).
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
