import type { SettingsReader } from '../settings-kit/reader';

/** Live grants' slice of the configuration. */
export interface GrantsSettings {
  /**
   * GATEHOUSE_GRANTS_SWEEP_INTERVAL: how often a node compares the grant versions it holds with the store (Redis),
   * ms, in case it missed a change (default 30s, at most 30s).
   */
  readonly grantsSweepIntervalMs: number;
}

/** Reads the live grants' settings, reporting each problem to the reader. */
export function readGrantsSettings(r: SettingsReader): GrantsSettings {
  return { grantsSweepIntervalMs: r.duration('GATEHOUSE_GRANTS_SWEEP_INTERVAL', '30s', { min: 100, max: 30_000 }) };
}
