/**
 * Finding ESP-IDF and running `idf.py`. The lab never installs ESP-IDF itself: a developer runs
 * `. $IDF_PATH/export.sh` (which puts idf.py on PATH and sets IDF_PATH), CI uses the official
 * espressif/idf container (.github/workflows/firmware.yml).
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';

/** The firmware needs ESP-IDF >= 5.1 (espressif/esp-tflite-micro requires it; FACTS.md). */
export const MIN_IDF = { major: 5, minor: 1 } as const;

export const IDF_NOT_FOUND =
  'ESP-IDF not found: install ESP-IDF >= 5.1 and run `. $IDF_PATH/export.sh`, or use the GitHub Actions workflow (.github/workflows/firmware.yml).';

export interface IdfVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface IdfInstall {
  idfPath: string;
  /** Absolute path of the idf.py found on PATH. */
  idfPy: string;
  version: IdfVersion;
  /** ccache on PATH: builds then share compiled objects (see ccacheEnv). */
  ccache?: string;
}

/** The environment lookups findIdf needs (injectable for tests). */
export interface IdfEnv {
  env: NodeJS.ProcessEnv;
  isFile?: (p: string) => boolean;
  readText?: (p: string) => string;
}

function defaultIsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** First `idf.py` on PATH, or undefined. */
export function findOnPath(name: string, pathVar: string | undefined, isFile: (p: string) => boolean): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * ESP-IDF's version from `$IDF_PATH/tools/cmake/version.cmake` (`set(IDF_VERSION_MAJOR 5)` ...),
 * the file idf.py itself falls back to (tools/idf_py_actions/tools.py, _idf_version_from_cmake).
 */
export function parseIdfVersionCmake(text: string): IdfVersion | undefined {
  const get = (part: string): number | undefined => {
    const m = new RegExp(`set\\s*\\(\\s*IDF_VERSION_${part}\\s+(\\d+)\\s*\\)`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const major = get('MAJOR');
  const minor = get('MINOR');
  const patch = get('PATCH');
  if (major === undefined || minor === undefined || patch === undefined) return undefined;
  return { major, minor, patch };
}

export function formatIdfVersion(v: IdfVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

/** ESP-IDF as the environment provides it; throws the one-line LabError when it is missing or too old. */
export function findIdf(idfEnv: IdfEnv = { env: process.env }): IdfInstall {
  const isFile = idfEnv.isFile ?? defaultIsFile;
  const readText = idfEnv.readText ?? ((p: string) => readFileSync(p, 'utf8'));
  const idfPath = idfEnv.env.IDF_PATH;
  const idfPy = findOnPath('idf.py', idfEnv.env.PATH, isFile);
  if (idfPath === undefined || idfPath === '' || idfPy === undefined) throw new LabError('firmware', IDF_NOT_FOUND);
  const versionFile = path.join(idfPath, 'tools', 'cmake', 'version.cmake');
  let version: IdfVersion | undefined;
  try {
    version = parseIdfVersionCmake(readText(versionFile));
  } catch {
    version = undefined;
  }
  if (version === undefined) {
    throw new LabError('firmware', `IDF_PATH=${idfPath} is not an ESP-IDF checkout (no version in ${versionFile}): point IDF_PATH at ESP-IDF >= 5.1 and run \`. $IDF_PATH/export.sh\`.`);
  }
  if (version.major < MIN_IDF.major || (version.major === MIN_IDF.major && version.minor < MIN_IDF.minor)) {
    throw new LabError('firmware', `ESP-IDF ${formatIdfVersion(version)} at ${idfPath} is too old: the firmware needs ESP-IDF >= 5.1 (espressif/esp-tflite-micro requires it); install a newer one and run \`. $IDF_PATH/export.sh\`.`);
  }
  const ccache = findOnPath('ccache', idfEnv.env.PATH, isFile);
  return { idfPath, idfPy, version, ...(ccache ? { ccache } : {}) };
}

/**
 * The environment idf.py runs with. With ccache on PATH, ESP-IDF's ccache support is switched on
 * (IDF_CCACHE_ENABLE, idf.py --ccache) and set up so that the variants' build directories share
 * objects: the variants differ in a few Kconfig choices (kernel backend, clock, flash mode), so
 * nearly every source preprocesses to the same text in each. CCACHE_BASEDIR makes the paths under
 * firmware/ relative to each build directory (all build directories are at the same depth), and
 * CCACHE_NOHASHDIR keeps the build directory out of the hash (debug info then names the first
 * build directory that compiled an object). time_macros: ESP-IDF's app descriptor uses __DATE__
 * and __TIME__. A user's own CCACHE_* settings win.
 */
export function idfEnv(idf: IdfInstall, firmwareDir: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!idf.ccache) return env;
  return {
    IDF_CCACHE_ENABLE: '1',
    ...(firmwareDir ? { CCACHE_BASEDIR: firmwareDir } : {}),
    CCACHE_NOHASHDIR: 'true',
    CCACHE_SLOPPINESS: 'time_macros',
    ...env,
  };
}

/** Runs idf.py with the given arguments; resolves with its exit code. */
export type IdfRunner = (idf: IdfInstall, args: readonly string[]) => Promise<number>;

/**
 * The real runner: idf.py's output goes straight to the terminal (builds take minutes), on stderr,
 * so the command's own stdout (e.g. `hil firmware size --json`) stays machine-readable.
 */
export const spawnIdf: IdfRunner = (idf, args) =>
  new Promise((resolve, reject) => {
    const at = args.indexOf('-C');
    const firmwareDir = at >= 0 ? args[at + 1] : undefined;
    const child = spawn(idf.idfPy, [...args], { stdio: ['inherit', 2, 2], env: idfEnv(idf, firmwareDir) });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

