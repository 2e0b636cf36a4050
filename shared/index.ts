export * from './errors';
export * from './close-codes';
export * from './protocol';
export * from './claims';
export * from './expiry-warning';
export * from './presence';
