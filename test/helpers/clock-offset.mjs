// Preloaded (`node --import`) into a gateway process a test starts with a skewed clock: Date.now() runs
// TEST_CLOCK_OFFSET_MS ahead (or behind) of the machine's, as on a node whose clock is off. Test-only; the gateway
// itself has no such setting.
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? 0);
if (Number.isFinite(offset) && offset !== 0) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}
