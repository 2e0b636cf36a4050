// The units live in server/settings-kit/ beside the reader, below every feature; this path stays for code that
// still imports them from config.
export * from '../settings-kit/units';
