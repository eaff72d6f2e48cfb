// The board protocol v1 codec: firmware/protocol/PROTOCOL.md.
#pragma once

#include "hil_protocol/crc.h"
#include "hil_protocol/errors.h"
#include "hil_protocol/frame.h"
#include "hil_protocol/messages.h"
#include "hil_protocol/wire.h"
