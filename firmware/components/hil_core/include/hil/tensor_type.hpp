// TFLM's TfLiteType (c_api_types.h / tflite_types.h) -> the TFLite schema TensorType the protocol's
// `dtype` carries (PROTOCOL.md section 4). They differ: float32 is 1 in TfLiteType, 0 in the schema.
#pragma once

#include <cstdint>

namespace hil {

constexpr uint8_t kNoSchemaType = 0xFF;

// The schema TensorType of a TfLiteType value, or kNoSchemaType for one without a protocol
// `dtype` (kTfLiteNoType, kTfLiteInt2 and anything newer).
uint8_t schemaTensorType(int tfliteType);

}  // namespace hil
