#include "hil/tensor_type.hpp"

namespace hil {

uint8_t schemaTensorType(int tfliteType) {
  // Index: TfLiteType (tensorflow/compiler/mlir/lite/core/c/tflite_types.h, esp-tflite-micro 1.3.5);
  // value: schema.fbs TensorType.
  static constexpr uint8_t kMap[] = {
      kNoSchemaType,  // kTfLiteNoType
      0,              // kTfLiteFloat32   -> FLOAT32
      2,              // kTfLiteInt32     -> INT32
      3,              // kTfLiteUInt8     -> UINT8
      4,              // kTfLiteInt64     -> INT64
      5,              // kTfLiteString    -> STRING
      6,              // kTfLiteBool      -> BOOL
      7,              // kTfLiteInt16     -> INT16
      8,              // kTfLiteComplex64 -> COMPLEX64
      9,              // kTfLiteInt8      -> INT8
      1,              // kTfLiteFloat16   -> FLOAT16
      10,             // kTfLiteFloat64   -> FLOAT64
      11,             // kTfLiteComplex128-> COMPLEX128
      12,             // kTfLiteUInt64    -> UINT64
      13,             // kTfLiteResource  -> RESOURCE
      14,             // kTfLiteVariant   -> VARIANT
      15,             // kTfLiteUInt32    -> UINT32
      16,             // kTfLiteUInt16    -> UINT16
      17,             // kTfLiteInt4      -> INT4
      18,             // kTfLiteBFloat16  -> BFLOAT16
  };
  if (tfliteType < 0 || static_cast<unsigned>(tfliteType) >= sizeof kMap) return kNoSchemaType;
  return kMap[tfliteType];
}

}  // namespace hil
