/**
 * The URL the aggregator calls a node's agent on (#16). An agent advertises one with its reports,
 * but that string is never followed as given: it is used only when it is `http://<address>:<port>/`
 * with no user, path, query or fragment and the address is one of the node's own addresses (its
 * uplink IPs, from the same verified report), so neither a report nor a stray config can point
 * the aggregator — and the credential it presents — at another host. Pure.
 */
import { isIP } from 'node:net';

const bare = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

export const verifiedAgentUrl = (reported: string | undefined, nodeAddresses: readonly string[]): string | undefined => {
  if (reported === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(reported);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' || u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || (u.pathname !== '/' && u.pathname !== '')) return undefined;
  const host = bare(u.hostname);
  if (isIP(host) === 0) return undefined;
  const canonical = (ip: string) => new URL(`http://${ip.includes(':') ? `[${ip}]` : ip}/`).hostname;
  if (!nodeAddresses.some((a) => isIP(a) !== 0 && canonical(a) === u.hostname)) return undefined;
  return `${u.protocol}//${u.host}/`;
};
