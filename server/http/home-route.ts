import { sendJson, type Route } from './health';

/**
 * homeRoute answers `GET /` on a node that serves no page there: a 404 that says where clients connect, so a person
 * who opens the node's address in a browser learns what it is, and what would serve a page here. It tells nothing else
 * about how the node is configured.
 * (The demo page, when served, takes `/` instead of this route.)
 */
export function homeRoute(wsPath: () => string): Route {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    sendJson(res, 404, {
      error: {
        name: 'NotFoundError',
        message: `This is a Gatehouse gateway: WebSocket clients connect to ${wsPath()}. No page is served at /: GATEHOUSE_DEMO=1 serves the demo page here.`,
      },
    });
    return true;
  };
}
