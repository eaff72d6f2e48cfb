/**
 * The real TensorFlow Lite runtime, compiled to WebAssembly (`@tensorflow/tfjs-tflite`, which runs
 * in a browser only: FACTS.md), driven from Node: a local HTTP server on 127.0.0.1 serves the
 * tfjs-core / tfjs-backend-cpu 4.9.0 browser bundles, tf-tflite and its WASM files, plus the
 * models under test; headless Chromium (test/browser.ts) loads them. No network is used.
 *
 * Without cross-origin isolation there is no SharedArrayBuffer, so tfjs-tflite picks its
 * single-threaded (SIMD) WASM build. int8 tensors come back as int32 values (FACTS.md): they are
 * returned here as plain numbers either way.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../browser.js';

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/** URL path -> file on disk, for the runtime's own files. */
function runtimeFiles(): Map<string, string> {
  const core = packageDir('@tensorflow/tfjs-core');
  const cpu = packageDir('@tensorflow/tfjs-backend-cpu');
  const tflite = packageDir('@tensorflow/tfjs-tflite');
  const files = new Map<string, string>([
    ['/tfjs/tf-core.min.js', path.join(core, 'dist/tf-core.min.js')],
    ['/tfjs/tf-backend-cpu.min.js', path.join(cpu, 'dist/tf-backend-cpu.min.js')],
    ['/tflite/tf-tflite.min.js', path.join(tflite, 'dist/tf-tflite.min.js')],
  ]);
  for (const f of ['tflite_web_api_client.js', 'tflite_web_api_cc.js', 'tflite_web_api_cc.wasm',
    'tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.wasm']) {
    files.set(`/tflite/wasm/${f}`, path.join(tflite, 'wasm', f));
  }
  return files;
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>tflite-wasm</title></head><body>
<script src="/tfjs/tf-core.min.js"></script>
<script src="/tfjs/tf-backend-cpu.min.js"></script>
<script src="/tflite/tf-tflite.min.js"></script>
</body></html>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

/** Inputs of one inference: one array of values per model input, in input order. */
export type InputSet = ArrayLike<number>[];

export class WasmRuntime {
  private counter = 0;

  private constructor(private readonly server: Server, private readonly browser: BrowserContext,
    private readonly page: Page, private readonly origin: string,
    /** Models the server hands out, by URL path (shared with the request handler). */
    private readonly models: Map<string, Uint8Array>,
    /** TFLite's own error log lines (printed to the browser console), to explain a refusal. */
    private readonly consoleErrors: string[]) {}

  /** Runs `fn` in the page; a failure carries TFLite's log lines, which say why a model was refused. */
  private async evaluate<R, A>(fn: (arg: A) => Promise<R>, arg: A): Promise<R> {
    this.consoleErrors.length = 0;
    try {
      return await this.page.evaluate(fn as (arg: unknown) => Promise<R>, arg as unknown);
    } catch (e) {
      const log = [...new Set(this.consoleErrors)].join(' | ');
      throw new Error(`${(e as Error).message.split('\n')[0]}${log ? ` (TFLite log: ${log})` : ''}`, { cause: e });
    }
  }

  static async start(): Promise<WasmRuntime> {
    const files = runtimeFiles();
    const models = new Map<string, Uint8Array>();
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const model = models.get(url.pathname);
      const file = files.get(url.pathname);
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      } else if (model) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(model);
      } else if (file) {
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the runtime server has no port');
    const origin = `http://127.0.0.1:${address.port}`;
    let browser: BrowserContext | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (m) => { if (!m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => 'tflite' in globalThis && 'tf' in globalThis);
      await page.evaluate(() => {
        const g = globalThis as unknown as { tflite: { setWasmPath(p: string): void } };
        g.tflite.setWasmPath('/tflite/wasm/');
      });
      return new WasmRuntime(server, browser, page, origin, models, consoleErrors);
    } catch (e) {
      await browser?.close();
      server.close();
      throw e;
    }
  }

  private register(bytes: Uint8Array): string {
    const url = `/models/m${this.counter++}.tflite`;
    this.models.set(url, bytes);
    return url;
  }

  /**
   * Runs a model on every input set. Returns, per set, one array of values per model output, and
   * the kernels TFLite ran (its profiler's node types over all runs, e.g. CONV_2D or
   * TfLiteXNNPackDelegate).
   */
  async run(modelBytes: Uint8Array, inputSets: InputSet[]): Promise<{ outputs: number[][][]; kernels: string[] }> {
    const url = this.register(modelBytes);
    const sets = inputSets.map((set) => set.map((a) => Array.from(a)));
    try {
      return await this.evaluate(async ({ url, sets }) => {
        interface T { dataSync(): ArrayLike<number> }
        interface TfliteModel {
          inputs: { name: string; shape: number[]; dtype: string }[];
          outputs: { name: string }[];
          predict(x: T | T[]): T | Record<string, T>;
          getProfilingResults(): { nodeType: string }[];
        }
        const g = globalThis as unknown as {
          tf: { tensor(d: number[], s: number[], t: string): T; dispose(x: T[]): void };
          tflite: { loadTFLiteModel(u: string, o: object): Promise<TfliteModel> };
        };
        const model = await g.tflite.loadTFLiteModel(url, { numThreads: 1, enableProfiling: true });
        const outputs: number[][][] = [];
        const kernels = new Set<string>();
        for (const set of sets) {
          const tensors = set.map((d, i) => g.tf.tensor(d, model.inputs[i].shape, model.inputs[i].dtype));
          const out = model.predict(tensors.length === 1 ? tensors[0] : tensors);
          const outs = 'dataSync' in out ? [out as T] : model.outputs.map((o) => (out as Record<string, T>)[o.name]);
          outputs.push(outs.map((t) => Array.from(t.dataSync())));
          g.tf.dispose([...tensors, ...outs]);
          for (const p of model.getProfilingResults()) kernels.add(p.nodeType);
        }
        return { outputs, kernels: [...kernels] };
      }, { url, sets });
    } finally {
      this.models.delete(url);
    }
  }

  /**
   * Inferences per second of the runtime's own `infer()` (no tensor conversion), on one input set
   * written into the input buffers once, measured over about `seconds` after a warm-up.
   */
  async inferencesPerSecond(modelBytes: Uint8Array, inputs: InputSet, seconds: number): Promise<{ perSecond: number; runs: number }> {
    const url = this.register(modelBytes);
    const values = inputs.map((a) => Array.from(a));
    try {
      return await this.evaluate(async ({ url, values, seconds }) => {
        interface Runner {
          getInputs(): { data(): { set(v: ArrayLike<number>): void } }[];
          infer(): boolean;
        }
        const g = globalThis as unknown as { tflite: { loadTFLiteModel(u: string, o: object): Promise<{ modelRunner: Runner }> } };
        const model = await g.tflite.loadTFLiteModel(url, { numThreads: 1 });
        const runner = model.modelRunner;
        runner.getInputs().forEach((t, i) => t.data().set(values[i]));
        for (let i = 0; i < 10; i++) runner.infer();
        let runs = 0;
        const start = performance.now();
        while (performance.now() - start < seconds * 1000) {
          runner.infer();
          runs++;
        }
        return { perSecond: runs / ((performance.now() - start) / 1000), runs };
      }, { url, values, seconds });
    } finally {
      this.models.delete(url);
    }
  }

  get address(): string {
    return this.origin;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
