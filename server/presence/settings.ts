import type { SettingsReader } from '../settings-kit/reader';

/** Presence's slice of the configuration (which channels have presence is the rules file's `presence` section). */
export interface PresenceSettings {
  /**
   * GATEHOUSE_PRESENCE_MAX_MEMBERS: members a channel may have before its events carry counts only (occupancy mode,
   * at most one a second), default 1,000. The member list stays readable page by page.
   */
  readonly presenceMaxMembers: number;
  /**
   * GATEHOUSE_PRESENCE_GRACE: how long a user whose last connection closed stays a member, so that a reconnect (any
   * node, any tab) within it makes no leave and no join, ms (default 5s; 0 leaves at once).
   */
  readonly presenceGraceMs: number;
}

export function readPresenceSettings(r: SettingsReader): PresenceSettings {
  return {
    presenceMaxMembers: r.integer('GATEHOUSE_PRESENCE_MAX_MEMBERS', 1000, 1, 10_000_000),
    presenceGraceMs: r.duration('GATEHOUSE_PRESENCE_GRACE', '5s', { min: 0, max: 10 * 60_000 }),
  };
}
