/**
 * Fixed-point arithmetic of TFLite Micro's int8 kernels, bit-exact in JavaScript.
 *
 * TFLM uses gemmlowp's double-rounding requantization (FACTS.md: `TFLITE_SINGLE_ROUNDING` is not
 * defined in tflite-micro or esp-tflite-micro), so every int8 kernel funnels through
 * `multiplyByQuantizedMultiplier` = SaturatingRoundingDoublingHighMul + RoundingDivideByPOT.
 * Followed (read, not copied):
 * - gemmlowp `fixedpoint/fixedpoint.h`: SaturatingRoundingDoublingHighMul, RoundingDivideByPOT,
 *   SaturatingRoundingMultiplyByPOT, RoundingHalfSum, exp_on_negative_values,
 *   one_over_one_plus_x_for_x_in_0_1, one_minus_x_over_one_plus_x_for_x_in_0_1, logistic, tanh.
 * - tflite-micro `tensorflow/lite/kernels/internal/common.{h,cc}` (MultiplyByQuantizedMultiplier,
 *   GetReciprocal, CountLeadingZeros) and `quantization_util.cc` (QuantizeMultiplier via frexp,
 *   PreprocessSoftmaxScaling, CalculateInputRadius).
 *
 * JavaScript pitfalls handled here: a product of two int32 needs up to 62 bits (doubles hold 53),
 * C integer division truncates toward zero, `>>` on int32 is arithmetic like C's on the targets,
 * int32 arithmetic that C lets wrap is wrapped with `| 0` / `Math.imul`, and float32 steps
 * (`float` in C) are rounded with `Math.fround`.
 */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
const TWO_31 = 2147483648;
const TWO_52 = 4503599627370496;
const INV_TWO_31 = 1 / TWO_31;

/** std::round / TfLiteRound: halves round away from zero (JS Math.round rounds -2.5 to -2). */
export function tfliteRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * gemmlowp SaturatingRoundingDoublingHighMul for int32: (a * b * 2 + 2^31 rounding) >> 32, i.e.
 * (a*b + nudge) / 2^31 truncated toward zero, with nudge = 2^30 for a*b >= 0 and 1 - 2^30 otherwise;
 * INT32_MIN * INT32_MIN saturates to INT32_MAX.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  const ab = a * b;
  if (ab > -TWO_52 && ab < TWO_52) {
    // Exact product, and exact after adding the nudge: the common case (requantized accumulators
    // stay far below 2^22 in practice). Written without data-dependent branches (they cost more
    // than the arithmetic on random data): the nudge's sign is the sign of a XOR b (a zero
    // product rounds to 0 with either nudge); multiplying by 2^-31 is exact; the quotient is
    // below 2^21, so `| 0` is C's truncation toward zero.
    return ((ab + 1073741824 - ((a ^ b) >>> 31) * 2147483647) * INV_TWO_31) | 0;
  }
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  return highMulSplit(a, b);
}

/**
 * The exact path for products beyond 2^53: split b into 16-bit halves so every partial product is
 * exact (|a * bHi| < 2^46, |a * bLo| < 2^47), then carry the low part into the 2^31 quotient.
 */
function highMulSplit(a: number, b: number): number {
  const bLo = b & 0xffff;
  const bHi = b >> 16; // b = bHi * 2^16 + bLo
  const p1 = a * bHi;
  const p0 = a * bLo;
  // a*b = p1 * 2^16 + p0 = q1 * 2^31 + r1 * 2^16 + p0 with p1 = q1 * 2^15 + r1, 0 <= r1 < 2^15.
  const q1 = Math.floor(p1 / 32768);
  const r1 = p1 - q1 * 32768;
  const negative = p1 * 65536 + p0 < 0; // sign is reliable even when the sum is rounded
  const nudge = negative ? 1 - 1073741824 : 1073741824;
  const s = r1 * 65536 + p0 + nudge; // exact: |s| < 2^48
  const fs = Math.floor(s / TWO_31);
  const rem = s - fs * TWO_31;
  const floorTotal = q1 + fs; // floor((a*b + nudge) / 2^31)
  // C division truncates toward zero: a negative non-integral quotient rounds up.
  return floorTotal < 0 && rem !== 0 ? floorTotal + 1 : floorTotal;
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  // Branch-free: ((1 << 31) - 1) | 0 wraps to 0x7fffffff, and a zero exponent gives mask 0.
  const mask = ((1 << exponent) - 1) | 0;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x >>> 31);
  // remainder > threshold  <=>  threshold - remainder < 0 (both are in [0, 2^31)).
  return (x >> exponent) + ((threshold - remainder) >>> 31);
}

/**
 * TFLM MultiplyByQuantizedMultiplier (double rounding; tensorflow/lite/kernels/internal/common.cc):
 * x * multiplier * 2^shift with multiplier a Q0.31 value; shift > 0 is a left shift.
 * `x * (1 << left_shift)` is an int32 product in C (it wraps), hence Math.imul.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = left === 0 ? x : Math.imul(x, 1 << left);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), right);
}

/**
 * multiplyByQuantizedMultiplier with the shift pre-split for a hot loop: `leftFactor` = 2^max(shift, 0),
 * `rightShift` = max(-shift, 0). Same double rounding, no branches on the data.
 */
export function requantize(x: number, multiplier: number, leftFactor: number, rightShift: number): number {
  const a = Math.imul(x, leftFactor);
  const ab = a * multiplier;
  const high = ab > -TWO_52 && ab < TWO_52
    ? ((ab + 1073741824 - ((a ^ multiplier) >>> 31) * 2147483647) * INV_TWO_31) | 0
    : saturatingRoundingDoublingHighMul(a, multiplier);
  const mask = ((1 << rightShift) - 1) | 0;
  return (high >> rightShift) + ((((mask >> 1) + (high >>> 31)) - (high & mask)) >>> 31);
}

/** Per-channel shifts split for `requantize`: left factor 2^max(s, 0) (wrapping like C) and right shift max(-s, 0). */
export function splitShifts(shifts: ArrayLike<number>): { lefts: Int32Array; rights: Int32Array } {
  return {
    lefts: Int32Array.from(shifts, (s) => (s > 0 ? (2 ** s) | 0 : 1)),
    rights: Int32Array.from(shifts, (s) => (s > 0 ? 0 : -s)),
  };
}

/** common.h MultiplyByQuantizedMultiplierGreaterThanOne: left shift only, no rounding divide. */
export function multiplyByQuantizedMultiplierGreaterThanOne(x: number, multiplier: number, leftShift: number): number {
  return saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** leftShift | 0), multiplier);
}

/** common.h MultiplyByQuantizedMultiplierSmallerThanOneExp: `leftShift` is <= 0. */
export function multiplyByQuantizedMultiplierSmallerThanOneExp(x: number, multiplier: number, leftShift: number): number {
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -leftShift);
}

/** C's std::frexp: x = fraction * 2^exponent with |fraction| in [0.5, 1) (0 for x = 0). */
export function frexp(x: number): { fraction: number; exponent: number } {
  if (x === 0 || !Number.isFinite(x)) return { fraction: x, exponent: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  let bits = (view.getUint32(0) >>> 20) & 0x7ff;
  let extra = 0;
  if (bits === 0) {
    // Subnormal: scale into the normal range first (exact: a power of two).
    view.setFloat64(0, x * 2 ** 64);
    bits = (view.getUint32(0) >>> 20) & 0x7ff;
    extra = -64;
  }
  const exponent = bits - 1022 + extra;
  // Rebuild the fraction by writing exponent 1022 (2^-1) into the same bits: exact.
  const hi = view.getUint32(0);
  view.setUint32(0, (hi & 0x800fffff) | (1022 << 20));
  return { fraction: view.getFloat64(0), exponent };
}

export interface QuantizedMultiplier {
  /** Q0.31 significand, |m| in [2^30, 2^31) (0 for a zero multiplier). */
  multiplier: number;
  /** Power of two: value = multiplier * 2^(shift - 31). Positive means a left shift. */
  shift: number;
}

/** quantization_util.cc QuantizeMultiplier (the non-TFLITE_EMULATE_FLOAT, double-rounding build). */
export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  const { fraction, exponent } = frexp(realMultiplier);
  let shift = exponent;
  let qFixed = tfliteRound(fraction * TWO_31);
  if (qFixed === TWO_31) {
    qFixed /= 2;
    shift += 1;
  }
  // Multipliers below 2^-31 flush to zero (upstream comment: "flush denormals to zero").
  if (shift < -31) {
    shift = 0;
    qFixed = 0;
  }
  return { multiplier: qFixed, shift };
}

/** gemmlowp SaturatingRoundingMultiplyByPOT / common.h SaturatingRoundingMultiplyByPOTParam for int32. */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  const threshold = (1 << (31 - exponent)) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * 2 ** exponent;
}

/** gemmlowp RoundingHalfSum for int32: (a + b + sign) / 2 in 64 bits, truncated. */
export function roundingHalfSum(a: number, b: number): number {
  const sum = a + b;
  return Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/** gemmlowp `FixedPoint<int32, k>::One()` raw value. */
function fixedOne(integerBits: number): number {
  return integerBits === 0 ? INT32_MAX : 2 ** (31 - integerBits);
}

/** gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31 in, Q0.31 out). */
function expOnIntervalNegativeQuarterTo0(a: number): number {
  const constantTerm = 1895147668; // exp(-1/8)
  const constant1Over3 = 715827883;
  const x = (a + (1 << 28)) | 0; // change of variable x = a + 1/8
  const x2 = saturatingRoundingDoublingHighMul(x, x);
  const x3 = saturatingRoundingDoublingHighMul(x2, x);
  const x4 = saturatingRoundingDoublingHighMul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT(
    (saturatingRoundingDoublingHighMul((x4Over4 + x3) | 0, constant1Over3) + x2) | 0, 1);
  return (constantTerm + saturatingRoundingDoublingHighMul(constantTerm, (x + poly) | 0)) | 0;
}

/** exp(-2^k) in Q0.31 for k = -2..4 (gemmlowp GEMMLOWP_EXP_BARREL_SHIFTER constants). */
const EXP_BARREL: readonly (readonly [number, number])[] = [
  [-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308],
  [2, 39332535], [3, 720401], [4, 242],
];

/**
 * gemmlowp exp_on_negative_values: `a` is a raw FixedPoint<int32, integerBits> <= 0; returns
 * exp(a) as a raw Q0.31 value.
 */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 2 ** (fractionalBits - 2);
  const mask = oneQuarter - 1;
  const aModQuarterMinusOneQuarter = ((a & mask) - oneQuarter) | 0;
  let result = expOnIntervalNegativeQuarterTo0(
    saturatingRoundingMultiplyByPOT(aModQuarterMinusOneQuarter, integerBits));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (const [exponent, multiplier] of EXP_BARREL) {
    if (integerBits > exponent) {
      const shiftAmount = fractionalBits + exponent;
      if (remainder & (2 ** shiftAmount | 0)) result = saturatingRoundingDoublingHighMul(result, multiplier);
    }
  }
  if (integerBits > 5) {
    const clamp = -(2 ** (36 - integerBits)); // -32.0 in this format
    if (a < clamp) result = 0;
  }
  return a === 0 ? INT32_MAX : result;
}

/** Newton-Raphson 1/(1+x) core shared by gemmlowp's logistic and tanh helpers; returns raw Q2.29. */
function newtonRaphsonReciprocal(halfDenominator: number): number {
  const constant48Over17 = 1515870810; // Q2.29
  const constantNeg32Over17 = -1010580540; // Q2.29
  const oneQ2 = 1 << 29;
  let x = (constant48Over17 + saturatingRoundingDoublingHighMul(halfDenominator, constantNeg32Over17)) | 0;
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = saturatingRoundingDoublingHighMul(halfDenominator, x);
    const oneMinus = (oneQ2 - halfDenominatorTimesX) | 0;
    x = (x + saturatingRoundingMultiplyByPOT(saturatingRoundingDoublingHighMul(x, oneMinus), 2)) | 0;
  }
  return x;
}

/** gemmlowp one_over_one_plus_x_for_x_in_0_1: raw Q0.31 in and out. */
export function oneOverOnePlusXForXIn01(a: number): number {
  const halfDenominator = roundingHalfSum(a, INT32_MAX);
  const x = newtonRaphsonReciprocal(halfDenominator);
  // Rescale<0>(ExactMulByPot<-1>(x)): Q1.30 -> Q0.31 is a saturating left shift by 1.
  return saturatingRoundingMultiplyByPOT(x, 1);
}

/** gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: raw Q0.31 in and out. */
function oneMinusXOverOnePlusXForXIn01(a: number): number {
  const halfDenominator = roundingHalfSum(a, INT32_MAX);
  const x = newtonRaphsonReciprocal(halfDenominator);
  return saturatingRoundingMultiplyByPOT((x - (1 << 29)) | 0, 2);
}

/** gemmlowp logistic: `a` raw FixedPoint<int32, integerBits>; returns raw Q0.31. */
export function fixedLogistic(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30;
  const absInput = a > 0 ? a : -a | 0;
  const positive = oneOverOnePlusXForXIn01(expOnNegativeValues(-absInput | 0, integerBits));
  return a > 0 ? positive : (INT32_MAX - positive) | 0;
}

/** gemmlowp tanh: `a` raw FixedPoint<int32, integerBits>; returns raw Q0.31. */
export function fixedTanh(a: number, integerBits: number): number {
  if (a === 0) return 0;
  const n = a < 0 ? a : -a | 0;
  // ExactMulByPot<1> keeps the raw value and adds an integer bit.
  const t = oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(n, integerBits + 1));
  return a < 0 ? -t | 0 : t;
}

/** common.h GetReciprocal: 1/x for a FixedPoint<int32, xIntegerDigits>; raw Q0.31 plus bits over unit. */
export function getReciprocal(x: number, xIntegerDigits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = Math.clz32(x);
  const numBitsOverUnit = xIntegerDigits - headroomPlusOne;
  // (uint32(x) << headroom_plus_one) - (1 << 31), reinterpreted as int32.
  const shiftedSumMinusOne = ((x << headroomPlusOne) - INT32_MIN) | 0;
  return { reciprocal: oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit };
}

/** quantization_util.cc CalculateInputRadius (double math, floored). */
export function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number, totalSignedBits = 31): number {
  const maxInputRescaled = 1.0 * (2 ** inputIntegerBits - 1) * 2 ** (totalSignedBits - inputIntegerBits) /
    2 ** inputLeftShift;
  return Math.floor(maxInputRescaled);
}

/** quantization_util.cc PreprocessSoftmaxScaling (double-rounding build: cap 2^31 - 1). */
export function preprocessSoftmaxScaling(beta: number, inputScale: number, inputIntegerBits: number): QuantizedMultiplier {
  const inputBetaRealMultiplier = Math.min(beta * inputScale * 2 ** (31 - inputIntegerBits), TWO_31 - 1);
  return quantizeMultiplier(inputBetaRealMultiplier);
}

// ---- int16 helpers used by HARD_SWISH (reference/hard_swish.h) ----

/** gemmlowp SaturatingRoundingDoublingHighMul for int16. */
export function saturatingRoundingDoublingHighMul16(a: number, b: number): number {
  if (a === -32768 && b === -32768) return 32767;
  const ab = a * b;
  const nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
  return (Math.trunc((ab + nudge) / 32768) << 16) >> 16;
}

/** reference/hard_swish.h SaturatingDoublingHighMul: like the above but truncating (SQDMULH). */
export function saturatingDoublingHighMul16(a: number, b: number): number {
  if (a === -32768 && b === -32768) return 32767;
  return (Math.trunc((a * b) / 32768) << 16) >> 16;
}

/** reference/hard_swish.h SaturatingLeftShift for int16. */
export function saturatingLeftShift16(value: number, amount: number): number {
  const result = value * 2 ** amount;
  return Math.max(-32768, Math.min(32767, result));
}

/** common.h DownScaleInt32ToInt16Multiplier. */
export function downScaleInt32ToInt16Multiplier(multiplier: number): number {
  if (multiplier >= INT32_MAX - (1 << 15)) return 32767;
  return (multiplier + (1 << 15)) >> 16;
}

// ---- activation ranges ----

export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

/**
 * kernel_util.cc CalculateActivationRangeQuantized: the fused activation as a clamp in the output's
 * quantized domain. Quantize() there is `zero_point + (int)TfLiteRound(f / scale)` in float.
 */
export function activationRangeQuantized(
  activation: Activation, scale: number, zeroPoint: number, qmin: number, qmax: number,
): { min: number; max: number } {
  const q = (f: number): number => zeroPoint + tfliteRound(Math.fround(f / scale));
  switch (activation) {
    case 'RELU': return { min: Math.max(qmin, q(0)), max: qmax };
    case 'RELU6': return { min: Math.max(qmin, q(0)), max: Math.min(qmax, q(6)) };
    case 'RELU_N1_TO_1': return { min: Math.max(qmin, q(-1)), max: Math.min(qmax, q(1)) };
    default: return { min: qmin, max: qmax };
  }
}

/** kernel_util.h CalculateActivationRange for float. */
export function activationRangeFloat(activation: Activation): { min: number; max: number } {
  switch (activation) {
    case 'RELU': return { min: 0, max: Infinity };
    case 'RELU6': return { min: 0, max: 6 };
    case 'RELU_N1_TO_1': return { min: -1, max: 1 };
    default: return { min: -Infinity, max: Infinity };
  }
}
