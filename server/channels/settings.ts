import type { AuthSettings } from '../auth/settings';
import { demoFiles, type BrowserSettings } from '../browser/settings';
import type { SettingsReader } from '../settings-kit/reader';
import type { NodeSettings } from '../node/settings';
import { formatBytes } from '../settings-kit/units';
import { NO_CHANNEL_RULES, readChannelRulesFile, type ChannelRules } from './rules-file';

/** The channel rules' slice of the configuration. */
export interface ChannelSettings {
  /** GATEHOUSE_CHANNELS_FILE: the operator's `anyone`/`authenticated` grants; unset: none (only tokens grant). */
  readonly channelsFile?: string;
  readonly channelRules: ChannelRules;
  /** GATEHOUSE_PUBLISH_RATE: publishes a second per socket (token bucket refill), default 50. */
  readonly publishRate: number;
  /** GATEHOUSE_PUBLISH_BURST: publishes a socket may send at once (bucket size), default 100. */
  readonly publishBurst: number;
  /** GATEHOUSE_MAX_CHANNELS: channels one socket may hold, default 100. */
  readonly maxChannels: number;
  /** GATEHOUSE_MAX_BUFFERED: bytes queued for one socket before it is closed as a slow consumer, default 1 MiB. */
  readonly maxBuffered: number;
  /** GATEHOUSE_MAX_BUFFERED_TOTAL: bytes queued for all sockets of the node together, default 256 MiB. */
  readonly maxBufferedTotal: number;
}

/** What the channel settings are read against: the largest message, and whether the demo's rules stand in. */
export type ChannelSettingsContext = Pick<NodeSettings, 'maxPayload'> & BrowserSettings & Pick<AuthSettings, 'devMode'>;

/**
 * Reads the channel settings, reporting each problem to the reader. `maxPayload` (GATEHOUSE_MAX_PAYLOAD, bytes) bounds
 * GATEHOUSE_MAX_BUFFERED from below; with GATEHOUSE_CHANNELS_FILE unset a development node's demo brings its rules.
 */
export function readChannelSettings(r: SettingsReader, context: ChannelSettingsContext): ChannelSettings {
  const { maxPayload } = context;
  const channelsFile = r.string('GATEHOUSE_CHANNELS_FILE') ?? demoFiles(context)?.channelsFile;
  let channelRules = NO_CHANNEL_RULES;
  if (channelsFile !== undefined) {
    const read = readChannelRulesFile(channelsFile);
    if ('problems' in read) for (const p of read.problems) r.problem('GATEHOUSE_CHANNELS_FILE', `${channelsFile}: ${p}`);
    else channelRules = read.rules;
  }
  const publishRate = r.integer('GATEHOUSE_PUBLISH_RATE', 50, 1, 1_000_000);
  const publishBurst = r.integer('GATEHOUSE_PUBLISH_BURST', 100, 1, 1_000_000);
  const maxChannels = r.integer('GATEHOUSE_MAX_CHANNELS', 100, 1, 100_000);
  const maxBuffered = r.bytes('GATEHOUSE_MAX_BUFFERED', 1024 * 1024, 1024, 1024 * 1024 * 1024);
  if (maxBuffered < maxPayload) {
    const buffered = r.raw('GATEHOUSE_MAX_BUFFERED') ?? '1MiB';
    r.problem(
      'GATEHOUSE_MAX_BUFFERED',
      `${buffered} is less than GATEHOUSE_MAX_PAYLOAD (${r.raw('GATEHOUSE_MAX_PAYLOAD') ?? formatBytes(maxPayload)}), so one relayed message could close a healthy client`,
    );
  }
  const maxBufferedTotal = r.bytes('GATEHOUSE_MAX_BUFFERED_TOTAL', 256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024);
  if (maxBufferedTotal < maxBuffered) {
    r.problem('GATEHOUSE_MAX_BUFFERED_TOTAL', `must be at least GATEHOUSE_MAX_BUFFERED (${maxBuffered} bytes)`);
  }
  return { channelsFile, channelRules, publishRate, publishBurst, maxChannels, maxBuffered, maxBufferedTotal };
}
