/** A method of AGServerSocket as a seam sees it: `this` is the socket. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each seam types its own arguments
export type SocketMethod = (this: any, ...args: any[]) => unknown;

/**
 * Replaces methods of SocketCluster's AGServerSocket prototype, once per process, for one named seam. The seams are
 * private methods, so a SocketCluster upgrade may move them: then this throws at start-up, naming the seam's file,
 * rather than letting the gateway run without its guard. `patch` receives the original methods and returns their
 * replacements.
 */
export function patchSocketMethods<M extends string>(
  AGServerSocket: { prototype: unknown },
  seam: { readonly name: string; readonly file: string },
  methods: readonly M[],
  patch: (originals: Record<M, SocketMethod>) => Record<M, SocketMethod>,
): void {
  const proto = AGServerSocket.prototype as Record<string | symbol, unknown>;
  const installed = Symbol.for(`gatehouse.${seam.name}`);
  if (proto[installed]) return;
  const originals = {} as Record<M, SocketMethod>;
  for (const method of methods) {
    const original = proto[method];
    if (typeof original !== 'function') {
      throw new Error(`socketcluster-server no longer has AGServerSocket#${method}; review ${seam.file}`);
    }
    originals[method] = original as SocketMethod;
  }
  Object.assign(proto, patch(originals));
  proto[installed] = true;
}
