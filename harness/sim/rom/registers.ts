/**
 * The ESP32-S3 registers a flasher reads and writes through READ_REG / WRITE_REG, with the values a
 * real chip would give. Which registers, and how their bits are read, comes from the clients:
 * esptool-js 0.7.0 `lib/targets/esp32s3.js` (+ `esp32.js`, which the S3 class extends) and
 * espressif/esptool `esptool/targets/esp32s3.py`:
 *
 * - 0x40001000 chip-detect magic: 9 for the S3 (esploader.js magic2Chip; fallback when
 *   GET_SECURITY_INFO is not used, and esptool-js's "is the chip still responsive" probe).
 * - eFuse BLOCK1 at 0x60007044: MAC (words 0-1), pkg version (w3 bits 21-23), minor revision
 *   (w3 bits 18-20 + w5 bit 23), major (w5 bits 24-25), block version minor (w3 bits 24-26),
 *   flash cap / vendor (w3 bits 27-29, w4 bits 0-2), PSRAM cap / vendor (w4 bits 3-4, 7-8);
 *   BLOCK2 at 0x6000705C word 4 bits 0-1: block version major.
 * - SPI0/1 peripheral at 0x60002000: CMD, ADDR, USR, USR1, USR2, MOSI/MISO_DLEN, W0 - esptool
 *   runs the JEDEC RDID (0x9f) command through them to read the flash ID (`runSpiflashCommand`).
 * - RTC watchdog (RTC_CNTL base 0x60008000): WDTWPROTECT 0xB0 (key 0x50D83AA1), WDTCONFIG0 0x98,
 *   WDTCONFIG1 0x9C. esptool's `watchdog_reset()` arms it to reset boards it cannot reset with RTS.
 * - RTC_CNTL_OPTION1 0x6000812C bit 0: force download boot - what our firmware sets before
 *   `esp_restart()` to enter the ROM loader in-band; it lives in the RTC domain and survives resets,
 *   which is why esptool clears it in `hard_reset()` (arduino-esp32 #6762).
 * - GPIO_STRAP 0x60004038 bit 3: GPIO0 level at reset (1 = SPI boot).
 * Registers nobody models read as 0. An address the S3 does not map at all faults, as on the chip:
 * esptool-js 0.7's S3 class inherits the ESP32's `getChipRevision`, which reads ESP32 eFuse words at
 * 0x3FF5A00C..., and the S3's real ROM (run in Espressif's QEMU) panics on that read - "Guru
 * Meditation Error ... (LoadStoreError)", EXCVADDR 0x3ff5a00c - which esptool-js then sees as
 * "Invalid head of packet (0x47)". This model used to answer 0 there, agreeing with the flasher's
 * bug instead of the chip (harness/flash/esp-loader.ts has the flasher's fix).
 */

export interface ChipProfile {
  /** Base MAC, 6 bytes. */
  mac: readonly number[];
  majorRevision: number;
  minorRevision: number;
  /** 0 = ESP32-S3 (QFN56), 1 = ESP32-S3-PICO-1. */
  pkgVersion: number;
  /** Embedded PSRAM: 0 (none, external or absent), 2 or 8 MB. */
  embeddedPsramMb: 0 | 2 | 8;
  /** How the console reaches the host: a USB-UART bridge on UART0, or the native USB-Serial-JTAG. */
  console: 'uart' | 'usb-jtag';
}

export const DEFAULT_CHIP: ChipProfile = {
  mac: [0x7c, 0xdf, 0xa1, 0x00, 0x00, 0x01],
  majorRevision: 0,
  minorRevision: 2,
  pkgVersion: 0,
  embeddedPsramMb: 8, // ESP32-S3R8 in an N8R8 / N16R8 module
  console: 'uart',
};

export const Reg = {
  CHIP_DETECT_MAGIC: 0x40001000,
  EFUSE_BLOCK1: 0x60007044,
  EFUSE_BLOCK2: 0x6000705c,
  UART_DATE: 0x60000080,
  UARTDEV_BUF_NO: 0x3fcef14c,
  SPI_BASE: 0x60002000,
  GPIO_STRAP: 0x60004038,
  RTC_CNTL_WDTCONFIG0: 0x60008098,
  RTC_CNTL_WDTCONFIG1: 0x6000809c,
  RTC_CNTL_WDTWPROTECT: 0x600080b0,
  RTC_CNTL_OPTION1: 0x6000812c,
} as const;

export const S3_CHIP_MAGIC = 0x9;
export const RTC_WDT_WKEY = 0x50d83aa1;
export const FORCE_DOWNLOAD_BOOT = 0x1;
const SPI = { CMD: 0x00, ADDR: 0x04, USR: 0x18, USR1: 0x1c, USR2: 0x20, MOSI_DLEN: 0x24, MISO_DLEN: 0x28, W0: 0x58 } as const;
const SPI_CMD_USR = 1 << 18;
/** Default RTC slow clock of the S3 (RC_SLOW, ~136 kHz): converts WDT timeouts in cycles to time. */
const RTC_SLOW_CLK_HZ = 136_000;

export interface RegisterHooks {
  /** JEDEC ID the flash answers RDID (0x9f) with. */
  flashJedecId(): number;
  /** The RTC watchdog was armed with a reset action: the chip resets after `ms`. */
  watchdogArmed(ms: number): void;
}

export class S3Registers {
  private readonly ram = new Map<number, number>();
  /** RTC_CNTL_OPTION1: in the RTC domain, so it survives every reset except power-on (see header). */
  private option1 = 0;
  private wdtUnlocked = false;
  /** GPIO0 held low at reset (the classic DTR/RTS download strap). */
  gpio0Low = false;

  constructor(
    readonly chip: ChipProfile,
    private readonly hooks: RegisterHooks,
  ) {}

  get forceDownload(): boolean {
    return (this.option1 & FORCE_DOWNLOAD_BOOT) !== 0;
  }

  /** What our firmware's RESET mode=download does before esp_restart (RTC_CNTL_OPTION1_REG). */
  setForceDownload(on: boolean): void {
    this.option1 = on ? this.option1 | FORCE_DOWNLOAD_BOOT : this.option1 & ~FORCE_DOWNLOAD_BOOT;
  }

  /** A reset: digital peripherals forget their state, the RTC domain keeps it unless it is a power-on. */
  reset(powerOn: boolean): void {
    this.ram.clear();
    this.wdtUnlocked = false;
    if (powerOn) this.option1 = 0;
  }

  read(address: number): number {
    const a = address >>> 0;
    if (!isMapped(a)) throw new LoadStoreFault(a);
    switch (a) {
      case Reg.CHIP_DETECT_MAGIC:
        return S3_CHIP_MAGIC;
      case Reg.UART_DATE:
        return 0x02008270;
      case Reg.UARTDEV_BUF_NO:
        // Older esptool (v4 targets/esp32s3.py): UARTDEV_BUF_NO_USB_JTAG_SERIAL = 4, UART0 = 0.
        return this.chip.console === 'usb-jtag' ? 4 : 0;
      case Reg.GPIO_STRAP:
        return this.gpio0Low ? 0x00 : 0x08;
      case Reg.RTC_CNTL_OPTION1:
        return this.option1;
      case Reg.RTC_CNTL_WDTWPROTECT:
        return this.wdtUnlocked ? RTC_WDT_WKEY : 0;
    }
    const efuse = this.efuse(a);
    if (efuse !== undefined) return efuse;
    return this.ram.get(a) ?? 0;
  }

  /** WRITE_REG semantics: the bits in `mask` take `value`, the others keep their value. */
  write(address: number, value: number, mask = 0xffffffff): void {
    const a = address >>> 0;
    const merged = ((this.read(a) & ~mask) | (value & mask)) >>> 0;
    switch (a) {
      case Reg.RTC_CNTL_OPTION1:
        this.option1 = merged;
        return;
      case Reg.RTC_CNTL_WDTWPROTECT:
        this.wdtUnlocked = merged === RTC_WDT_WKEY;
        return;
      case Reg.RTC_CNTL_WDTCONFIG0:
        if (!this.wdtUnlocked) return; // write-protected: the real register ignores the write
        this.ram.set(a, merged);
        this.maybeArmWatchdog(merged);
        return;
      case Reg.RTC_CNTL_WDTCONFIG1:
        if (!this.wdtUnlocked) return;
        this.ram.set(a, merged);
        return;
      case Reg.SPI_BASE + SPI.CMD:
        if (merged & SPI_CMD_USR) this.runSpiCommand();
        return; // the USR bit self-clears when the transaction is done
    }
    this.ram.set(a, merged);
  }

  private maybeArmWatchdog(config0: number): void {
    const enabled = (config0 >>> 31) === 1;
    const stage0Action = (config0 >>> 28) & 0x7;
    if (!enabled || stage0Action === 0) return; // 0 = stage off; 1 = interrupt only (no reset)
    if (stage0Action === 1) return;
    const cycles = this.ram.get(Reg.RTC_CNTL_WDTCONFIG1) ?? 0;
    const ms = cycles > 0 ? Math.max(1, (cycles * 1000) / RTC_SLOW_CLK_HZ) : 1000;
    this.hooks.watchdogArmed(ms);
  }

  private runSpiCommand(): void {
    const base = Reg.SPI_BASE;
    const command = (this.ram.get(base + SPI.USR2) ?? 0) & 0xff;
    const misoBits = ((this.ram.get(base + SPI.MISO_DLEN) ?? 0) & 0x3ffff) + 1;
    let reply = 0;
    if (command === 0x9f) reply = this.hooks.flashJedecId(); // RDID
    else if (command === 0x05 || command === 0x35) reply = 0; // RDSR / RDSR2: idle, no protection
    const mask = misoBits >= 32 ? 0xffffffff : (1 << misoBits) - 1;
    this.ram.set(base + SPI.W0, (reply & mask) >>> 0);
  }

  private efuse(a: number): number | undefined {
    const c = this.chip;
    const b1 = Reg.EFUSE_BLOCK1;
    const minorLo = c.minorRevision & 0x7;
    const minorHi = (c.minorRevision >> 3) & 0x1;
    const psramCap = c.embeddedPsramMb === 8 ? 1 : c.embeddedPsramMb === 2 ? 2 : 0;
    const psramVendor = psramCap ? 1 : 0; // AP_3v3
    const BLK_VERSION_MAJOR = 1;
    const BLK_VERSION_MINOR = 2;
    switch (a) {
      case b1: // MAC bytes 2..5
        return ((c.mac[2]! << 24) | (c.mac[3]! << 16) | (c.mac[4]! << 8) | c.mac[5]!) >>> 0;
      case b1 + 4: // MAC bytes 0..1 in the low half
        return ((c.mac[0]! << 8) | c.mac[1]!) >>> 0;
      case b1 + 12:
        return ((minorLo << 18) | ((c.pkgVersion & 0x7) << 21) | (BLK_VERSION_MINOR << 24)) >>> 0;
      case b1 + 16:
        return ((psramCap << 3) | (psramVendor << 7)) >>> 0;
      case b1 + 20:
        return ((minorHi << 23) | ((c.majorRevision & 0x3) << 24)) >>> 0;
      case Reg.EFUSE_BLOCK2 + 16:
        return BLK_VERSION_MAJOR;
    }
    return undefined;
  }
}

/** A stable, plausible MAC for a simulated board: Espressif's 7C:DF:A1 OUI plus a hash of its name. */
export function macForBoard(name: string): number[] {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return [0x7c, 0xdf, 0xa1, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
}

/**
 * The ESP32-S3's address map as the ROM loader's READ_REG sees it (ESP32-S3 TRM, "System and
 * Memory": external memory through the caches, internal ROM / SRAM / RTC memory, peripherals).
 * The ESP32's peripheral window at 0x3FF00000 is not among them.
 */
const S3_ADDRESS_MAP: ReadonlyArray<[number, number]> = [
  [0x3c000000, 0x3e000000], // data bus: external flash / PSRAM through the cache
  [0x3fc88000, 0x3fd00000], // internal SRAM (data bus)
  [0x40000000, 0x40060000], // internal ROM
  [0x40370000, 0x403e0000], // internal SRAM (instruction bus)
  [0x42000000, 0x44000000], // instruction bus: external flash through the cache
  [0x50000000, 0x50002000], // RTC slow memory
  [0x60000000, 0x600d1000], // peripherals
  [0x600fe000, 0x60100000], // RTC fast memory
];

export function isMapped(address: number): boolean {
  return S3_ADDRESS_MAP.some(([from, to]) => address >= from && address < to);
}

/** A read the chip cannot do: the CPU takes a LoadStoreError exception (EXCCAUSE 3) and the ROM panics. */
export class LoadStoreFault extends Error {
  constructor(readonly address: number) {
    super(`load from unmapped address 0x${address.toString(16).padStart(8, '0')}`);
  }
}

/** What the S3 ROM prints for such a fault (its first line, then the registers; seen in QEMU). */
export function panicText(address: number): string {
  const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  return "Guru Meditation Error: Core  0 panic'ed (LoadStoreError). Exception was unhandled.\r\n"
    + `EXCCAUSE: 0x00000003  EXCVADDR: ${hex(address)}\r\n\r\n`;
}
