// Join links as the app shows them (a QR code carries the address) and reads them back when
// opened at one.
const JOIN_PATH = "/app/join/";

/** Where a join link's QR code points: the app, which asks the person to join once signed in. */
export function joinUrl(token: string): string {
  return `${location.origin}${JOIN_PATH}${encodeURIComponent(token)}`;
}

/** The join link's token when the app was opened at one, else null (also for an address
 * mangled on its way: the server would refuse its token anyway). */
export function joinTokenOf(path: string): string | null {
  if (!path.startsWith(JOIN_PATH) || path.length === JOIN_PATH.length) return null;
  try {
    return decodeURIComponent(path.slice(JOIN_PATH.length));
  } catch {
    return null;
  }
}
