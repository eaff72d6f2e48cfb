/**
 * The simulated board's time: what `esp_timer_get_time()` returns, and how long the board is busy.
 *
 * While idle, board time follows wall time (divided by `timeScale`). While the board works on a
 * request, board time advances by exactly the simulated durations (an inference's cycles / CPU
 * clock, a chunk's processing), whatever the host spends computing, and the request's promise
 * waits in wall time until that much board time has passed (times `timeScale`): so a host sees
 * the board busy for as long as a real one would be, and its timeouts and duty cycle are real.
 * `timeScale` 1 is real time; tests use e.g. 0.01 (100x faster).
 */
export class BoardClock {
  readonly timeScale: number;
  private baseUs: number;
  private baseWall: number;
  private busyDepth = 0;
  private cursorUs = 0;
  private busyWallStart = 0;
  private busyStartUs = 0;

  constructor(timeScale = 1, startUs = 0) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
    this.timeScale = timeScale;
    this.baseUs = startUs;
    this.baseWall = performance.now();
  }

  /** Microseconds since boot. */
  nowUs(): number {
    if (this.busyDepth > 0) return this.cursorUs;
    return this.baseUs + ((performance.now() - this.baseWall) * 1000) / this.timeScale;
  }

  /** Start a stretch of simulated work: board time now only moves by `spend`. Nested calls share it. */
  beginBusy(): void {
    if (this.busyDepth++ > 0) return;
    this.cursorUs = this.nowUsIdle();
    this.busyStartUs = this.cursorUs;
    this.busyWallStart = performance.now();
  }

  /**
   * The board works for `us` microseconds: board time advances by exactly that, and the promise
   * resolves once wall time has caught up (immediately when the host is already behind).
   */
  async spend(us: number): Promise<void> {
    if (this.busyDepth === 0) throw new Error('BoardClock.spend outside beginBusy/endBusy');
    if (us > 0) this.cursorUs += us;
    const dueWall = this.busyWallStart + ((this.cursorUs - this.busyStartUs) / 1000) * this.timeScale;
    const wait = dueWall - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    else await new Promise((r) => setImmediate(r)); // let the link and other boards breathe
  }

  /** Milliseconds of wall time since the busy stretch started. */
  busyWallMs(): number {
    return this.busyDepth > 0 ? performance.now() - this.busyWallStart : 0;
  }

  endBusy(): void {
    if (this.busyDepth === 0 || --this.busyDepth > 0) return;
    this.baseUs = this.cursorUs;
    this.baseWall = performance.now();
  }

  /** Wall milliseconds for `us` of board time. */
  wallMs(us: number): number {
    return (us / 1000) * this.timeScale;
  }

  private nowUsIdle(): number {
    return this.baseUs + ((performance.now() - this.baseWall) * 1000) / this.timeScale;
  }
}
