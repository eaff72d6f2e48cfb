/**
 * A zero-bordered copy of an NHWC input for windowed kernels (conv, depthwise conv).
 *
 * TFLM's reference kernels test every filter tap for "inside the image" and skip the ones that are
 * not. Skipping a tap is the same as multiplying by a zero input, so the kernels here read from a
 * buffer whose border is zero and whose interior is `input + inputOffset` (the int8 kernels add
 * the input offset, -zero_point, before multiplying: reference_integer_ops/conv.h). The border is
 * written once at construction; `fill()` rewrites only the interior, so the hot loops need no
 * bounds checks and no per-tap offset addition.
 */

export interface PaddedInput<T extends Int32Array | Float32Array> {
  /** [batches][paddedHeight][paddedWidth][channels] */
  readonly data: T;
  readonly paddedHeight: number;
  readonly paddedWidth: number;
  /** Copies the current input into the interior. */
  fill(): void;
}

export interface PaddedGeometry {
  batches: number; height: number; width: number; channels: number;
  padTop: number; padLeft: number;
  /** Rows / columns the window reads, counted from the padded origin. */
  neededHeight: number; neededWidth: number;
}

function sizes(g: PaddedGeometry): { ph: number; pw: number } {
  return {
    ph: Math.max(g.padTop + g.height, g.neededHeight),
    pw: Math.max(g.padLeft + g.width, g.neededWidth),
  };
}

export function paddedInt8Input(src: Int8Array | Uint8Array | Int16Array, offset: number, g: PaddedGeometry): PaddedInput<Int32Array> {
  const { ph, pw } = sizes(g);
  const data = new Int32Array(g.batches * ph * pw * g.channels);
  const rowLen = g.width * g.channels;
  return {
    data, paddedHeight: ph, paddedWidth: pw,
    fill(): void {
      for (let b = 0; b < g.batches; b++) {
        for (let y = 0; y < g.height; y++) {
          let s = (b * g.height + y) * rowLen;
          let d = ((b * ph + y + g.padTop) * pw + g.padLeft) * g.channels;
          const end = s + rowLen;
          while (s < end) data[d++] = src[s++] + offset;
        }
      }
    },
  };
}

export function paddedFloatInput(src: Float32Array, g: PaddedGeometry): PaddedInput<Float32Array> {
  const { ph, pw } = sizes(g);
  if (ph === g.height && pw === g.width && g.padTop === 0 && g.padLeft === 0) {
    // Nothing to pad: read the input in place.
    return { data: src, paddedHeight: ph, paddedWidth: pw, fill: () => undefined };
  }
  const data = new Float32Array(g.batches * ph * pw * g.channels);
  const rowLen = g.width * g.channels;
  return {
    data, paddedHeight: ph, paddedWidth: pw,
    fill(): void {
      for (let b = 0; b < g.batches; b++) {
        for (let y = 0; y < g.height; y++) {
          const s = (b * g.height + y) * rowLen;
          const d = ((b * ph + y + g.padTop) * pw + g.padLeft) * g.channels;
          data.set(src.subarray(s, s + rowLen), d);
        }
      }
    },
  };
}
