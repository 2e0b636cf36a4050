/**
 * Socket.IO 4 as its documentation shows JWT auth: an `io.use` middleware verifying `socket.handshake.auth.token`
 * (jsonwebtoken with the secret as a KeyObject, as the tuned SocketCluster), rooms for channels, a `subscribe` event
 * that joins a room when the token's `channels` grant it, and a `publish` event broadcast to the room as `publish`.
 * WebSocket transport only (the load generator speaks it directly). /readyz answers 200 once listening.
 */
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import { Server } from 'socket.io';
import { granted, peerSettings } from './grants';

const { port, secret } = peerSettings();
const key = createSecretKey(Buffer.from(secret, 'utf8'));
const http = createServer((req, res) => {
  if (req.url?.startsWith('/socket.io/')) return; // Socket.IO answers its own path
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
});
/** What clients send: the two events this peer answers. */
type ClientEvents = {
  subscribe: (channel: unknown, ack?: (answer: unknown) => void) => void;
  publish: (message: { channel?: unknown; data?: unknown } | null) => void;
};
/** What the server sends: a message published to a room. */
type ServerEvents = { publish: (message: { channel: unknown; data: unknown }) => void };
/** What the middleware keeps on each socket: the verified token's claims. */
type SocketData = { claims?: unknown };

const io = new Server<ClientEvents, ServerEvents, Record<string, never>, SocketData>(http, { transports: ['websocket'], serveClient: false });

io.use((socket, next) => {
  try {
    socket.data.claims = jwt.verify(String(socket.handshake.auth?.token), key, { algorithms: ['HS256'] });
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  socket.on('subscribe', (channel, ack) => {
    if (!granted(socket.data.claims, channel)) {
      ack?.({ error: 'forbidden' });
      return;
    }
    void socket.join(channel as string);
    ack?.({});
  });
  socket.on('publish', (message) => {
    if (!message || !granted(socket.data.claims, message.channel)) return;
    io.to(message.channel as string).emit('publish', { channel: message.channel, data: message.data });
  });
});

http.listen(port, '127.0.0.1');
// A normal exit, so `node --cpu-prof` writes its profile when the bench stops the server.
process.on('SIGTERM', () => process.exit(0));
