/** Board sessions: the protocol's request/reply rules and the board's states over a link. */
export { BoardSession, type BoardSessionEvents, type BoardSessionOptions, type ChunkPlacement, type PingResult, type SessionState } from './session.js';
export { BoardErrorReply } from './errors.js';
export { createBoardSession, createLabBoard, brokerOf, emulatedBoardOptions, simulatedBoardOptions, type CreateBoardOptions } from './lab-board.js';
