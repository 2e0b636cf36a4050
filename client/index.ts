/**
 * The browser side of Gatehouse's protocol, shared with the server: error names, close codes and what each means for
 * a client. The client library (a later issue) builds on this over socketcluster-client; it runs in browsers, so it
 * imports nothing from Node.
 */
import { CLOSE_CODES, ERROR_CATALOGUE, type ErrorName } from '../shared';

export { CloseCode, ErrorName, Procedure, ServerEvent, shouldReconnect } from '../shared';
export { channelNameProblem } from '../shared/channel-pattern';

/** Whether the gateway removes the client's stored token with this authentication error. */
export function removesToken(name: string): boolean {
  return ERROR_CATALOGUE.find((e) => e.name === (name as ErrorName))?.removesToken === true;
}

/** The name of one of Gatehouse's close codes (e.g. 'TokenRevoked'), or undefined for any other code. */
export function closeCodeName(code: number): string | undefined {
  return CLOSE_CODES.find((c) => c.code === code)?.name;
}
