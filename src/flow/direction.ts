/** 0: from the client (initiator) to the server; 1: from the server back to the client. */
export type Direction = 0 | 1;
export const TO_SERVER: Direction = 0;
export const TO_CLIENT: Direction = 1;
