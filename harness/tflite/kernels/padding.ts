/**
 * SAME / VALID output sizes and leading padding, as tensorflow/lite/kernels/padding.h computes them
 * (ComputeOutSize, ComputePaddingWithOffset): TFLite pads `total / 2` before and the odd pixel after.
 */
import type { Padding } from '../model.js';

export function effectiveFilterSize(filter: number, dilation: number): number {
  return (filter - 1) * dilation + 1;
}

/** ComputeOutSize; 0 when the arguments make no output (the caller reports it). */
export function computeOutSize(padding: Padding, image: number, filter: number, stride: number, dilation: number): number {
  if (image < 0 || filter <= 0 || stride <= 0 || dilation <= 0) return 0;
  const value = padding === 'SAME'
    ? Math.floor((image + stride - 1) / stride)
    : Math.floor((image + stride - effectiveFilterSize(filter, dilation)) / stride);
  return Math.max(0, value);
}

/** ComputePaddingWithOffset: padding before the first pixel (the extra odd pixel goes after). */
export function computePadding(stride: number, dilation: number, image: number, filter: number, out: number): number {
  const total = (out - 1) * stride + effectiveFilterSize(filter, dilation) - image;
  return total > 0 ? Math.floor(total / 2) : 0;
}

export interface Window2D {
  outHeight: number; outWidth: number;
  padTop: number; padLeft: number;
}

/** ComputePaddingHeightWidth. */
export function computeWindow(
  padding: Padding, inHeight: number, inWidth: number, filterHeight: number, filterWidth: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
): Window2D {
  const outHeight = computeOutSize(padding, inHeight, filterHeight, strideH, dilationH);
  const outWidth = computeOutSize(padding, inWidth, filterWidth, strideW, dilationW);
  return {
    outHeight, outWidth,
    padTop: computePadding(strideH, dilationH, inHeight, filterHeight, outHeight),
    padLeft: computePadding(strideW, dilationW, inWidth, filterWidth, outWidth),
  };
}
