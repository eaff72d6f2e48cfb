/**
 * Messages as plain JSON: the form of the golden files (PROTOCOL.md section 7) and of anything
 * that records protocol traffic (journals, recorded simulator sessions replayed against the
 * firmware's command handler). The only difference from `Message` is that every `data` field is
 * a lower-case hex string instead of a Uint8Array.
 */
import { ProtocolError } from './errors.js';
import { type Message, type MessageBody, BODY_TYPE_CODES } from './message-types.js';
import { encodeBody } from './messages.js';
import { bytesToHex, hexToBytes } from './wire.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonMessage {
  requestId: number;
  simulated: boolean;
  more: boolean;
  body: { type: MessageBody['type']; [field: string]: JsonValue };
}

export function messageToJson(msg: Message): JsonMessage {
  const body: Record<string, unknown> = { ...msg.body };
  if (body.data instanceof Uint8Array) body.data = bytesToHex(body.data);
  return { requestId: msg.requestId, simulated: msg.simulated, more: msg.more, body: body as JsonMessage['body'] };
}

/**
 * The message a JSON value describes. Checks it completely (by encoding its payload), so a
 * hand-edited or corrupted recording fails here with the field's name.
 */
export function messageFromJson(json: unknown): Message {
  if (typeof json !== 'object' || json === null) throw new ProtocolError('field-range', 'a message must be a JSON object');
  const { requestId, simulated, more, body } = json as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || typeof (body as { type?: unknown }).type !== 'string') {
    throw new ProtocolError('field-range', 'a message needs a body with a type');
  }
  const type = (body as { type: string }).type;
  if (!Object.hasOwn(BODY_TYPE_CODES, type)) throw new ProtocolError('field-range', `unknown message body type ${type}`);
  if (typeof requestId !== 'number' || typeof simulated !== 'boolean' || typeof more !== 'boolean') {
    throw new ProtocolError('field-range', `${type}: requestId must be a number, simulated and more booleans`);
  }
  const copy: Record<string, unknown> = { ...body };
  if ('data' in copy) {
    if (typeof copy.data !== 'string') throw new ProtocolError('field-range', `${type}: data must be a hex string`);
    copy.data = hexToBytes(copy.data);
  }
  const msg: Message = { requestId, simulated, more, body: copy as unknown as MessageBody };
  encodeBody(msg.body); // throws naming the first field that is missing or out of range
  return msg;
}
