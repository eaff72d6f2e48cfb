/**
 * C struct layout, so the arena planner can size TFLM's structs the way a C++ compiler does for a
 * given target instead of hard-coding byte counts: each field is aligned to its own alignment and
 * the struct is padded to its largest one.
 *
 * Two targets: 32-bit pointers and 64-bit pointers. The 32-bit layout follows the i386 System V ABI
 * (doubles and int64 aligned to 4 inside structs), which is what the 32-bit host build of TFLM that
 * measured the targets in FACTS.md uses; the ESP32-S3's Xtensa ABI aligns them to 8. Only structs
 * holding a double differ (QUANTIZE / DEQUANTIZE op data), by at most 8 bytes each before the
 * arena's 16-byte rounding; PLANNER.md says where.
 */
export type PointerSize = 4 | 8;

export interface Abi {
  pointerSize: PointerSize;
  /** Alignment of double and int64 inside a struct. */
  wideAlign: 4 | 8;
}

/** 'host': i386 for 32 bits, x86-64 / arm64 for 64 bits. 'xtensa': the ESP32-S3's 32-bit ABI. */
export type AbiFamily = 'host' | 'xtensa';

export function abiFor(pointerSize: PointerSize, family: AbiFamily = 'host'): Abi {
  return { pointerSize, wideAlign: family === 'xtensa' || pointerSize === 8 ? 8 : 4 };
}

/** A scalar C type, a nested struct, or a fixed-size array of either. */
export type CType =
  | 'int8' | 'bool' | 'int16' | 'int32' | 'float' | 'enum' | 'double' | 'int64' | 'ptr' | 'size_t'
  | { struct: readonly CType[] }
  | { array: CType; count: number };

export interface Layout { size: number; align: number }

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function layoutOf(type: CType, abi: Abi): Layout {
  if (typeof type === 'string') {
    switch (type) {
      case 'int8': case 'bool': return { size: 1, align: 1 };
      case 'int16': return { size: 2, align: 2 };
      case 'int32': case 'float': case 'enum': return { size: 4, align: 4 };
      case 'double': case 'int64': return { size: 8, align: abi.wideAlign };
      case 'ptr': case 'size_t': return { size: abi.pointerSize, align: abi.pointerSize };
    }
  }
  if ('array' in type) {
    const element = layoutOf(type.array, abi);
    return { size: element.size * type.count, align: element.align };
  }
  let size = 0;
  let align = 1;
  for (const field of type.struct) {
    const f = layoutOf(field, abi);
    size = alignUp(size, f.align) + f.size;
    align = Math.max(align, f.align);
  }
  return { size: alignUp(size, align), align };
}

/** Shorthand for a struct of fields. */
export function struct(...fields: CType[]): CType {
  return { struct: fields };
}

export function array(type: CType, count: number): CType {
  return { array: type, count };
}

export function repeat(type: CType, count: number): CType[] {
  return Array.from({ length: count }, () => type);
}
