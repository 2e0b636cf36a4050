import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import { PRESENCE_EVENT, PRESENCE_PROCEDURE, type PresenceEvent, type PresenceSnapshot } from '../../shared';

/** Writes a rules file for presence tests: `presence` patterns plus the `authenticated` grants. */
export function presenceRulesFile(rules: { presence: string[]; authenticated?: unknown; anyone?: unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-presence-'));
  const path = join(dir, 'channels.json');
  writeFileSync(path, JSON.stringify(rules));
  return path;
}

/** Collects every `gatehouse:presence` event a client receives, with when it arrived. */
export function watchPresence(client: AGClientSocket): { events: PresenceEvent[]; times: number[]; stop(): void } {
  const events: PresenceEvent[] = [];
  const times: number[] = [];
  const receiver = client.receiver(PRESENCE_EVENT);
  void (async () => {
    for await (const data of receiver) {
      events.push(data as PresenceEvent);
      times.push(Date.now());
    }
  })();
  return { events, times, stop: () => client.closeReceiver(PRESENCE_EVENT) };
}

/** The `presence` procedure's answer, or the error it was refused with. */
export async function presenceOf(client: AGClientSocket, request: Record<string, unknown>): Promise<PresenceSnapshot> {
  return (await client.invoke(PRESENCE_PROCEDURE, request)) as PresenceSnapshot;
}

export async function presenceError(client: AGClientSocket, request: Record<string, unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await client.invoke(PRESENCE_PROCEDURE, request);
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error(`presence ${JSON.stringify(request)} unexpectedly answered`);
}

/** Every member sub of a channel, paging through the procedure. */
export async function allMembers(client: AGClientSocket, channel: string, limit = 1000): Promise<{ subs: string[]; seq: number; count: number }> {
  const subs: string[] = [];
  let cursor: string | undefined;
  let seq = 0;
  let count = 0;
  for (let page = 0; page < 10_000; page++) {
    const answer = await presenceOf(client, { channel, limit, ...(cursor === undefined ? {} : { cursor }) });
    subs.push(...answer.members.map((m) => m.sub));
    seq = answer.seq;
    count = answer.count;
    cursor = answer.cursor;
    if (cursor === undefined) break;
  }
  return { subs, seq, count };
}
