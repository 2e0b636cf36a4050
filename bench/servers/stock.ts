/**
 * Stock SocketCluster, as its documentation shows it: `attach(httpServer, {authKey})` and one inbound middleware that
 * checks `socket.authToken.channels` on every subscribe and publish. `BENCH_KEY=keyobject` gives AGServer the secret as
 * a KeyObject (the tuned variant; jsonwebtoken 9 re-parses a string secret on every call), anything else as a string.
 * /readyz answers 200 once listening, like Gatehouse's.
 */
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import * as socketClusterServer from 'socketcluster-server';
import type AGAction from 'socketcluster-server/action';
import { granted, peerSettings } from './grants';

const { port, secret } = peerSettings();
const http = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
});
const authKey = process.env.BENCH_KEY === 'keyobject' ? createSecretKey(Buffer.from(secret, 'utf8')) : secret;
const agServer = socketClusterServer.attach(http, { authKey: authKey as string });

/** The channel rule as SocketCluster's guide writes an inbound middleware: one loop over each socket's actions. */
async function guard(stream: AsyncIterable<AGAction>): Promise<void> {
  for await (const action of stream) {
    if (action.type === action.SUBSCRIBE || action.type === action.PUBLISH_IN) {
      if (!granted(action.socket?.authToken, (action as { channel?: string }).channel)) {
        const err = new Error('You are not allowed to use this channel');
        err.name = 'ChannelForbiddenError';
        action.block(err);
        continue;
      }
    }
    action.allow(undefined);
  }
}

// SocketCluster drops what a middleware returns.
agServer.setMiddleware(agServer.MIDDLEWARE_INBOUND, (stream) => void guard(stream as AsyncIterable<AGAction>));

http.listen(port, '127.0.0.1');
// A normal exit, so `node --cpu-prof` writes its profile when the bench stops the server.
process.on('SIGTERM', () => process.exit(0));
