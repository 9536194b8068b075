// Join links as the app shows them (a QR code carries the address) and reads them back when
// opened at one.
const JOIN_PATH = "/app/join";

/** Where a join link's QR code points: the app, which asks the person to join once signed in.
 * The token comes after `#`, which a browser never sends: it stays out of the server's and any
 * proxy's access log, as the API keeps it out of paths. */
export function joinUrl(token: string): string {
  return `${location.origin}${JOIN_PATH}#${encodeURIComponent(token)}`;
}

/** The join link's token when the app was opened at one (`/app/join#<token>`, or the form of
 * earlier links, `/app/join/<token>`), else null (also for an address mangled on its way: the
 * server would refuse its token anyway). */
export function joinTokenOf(path: string, hash = ""): string | null {
  let encoded = "";
  if (path === JOIN_PATH || path === `${JOIN_PATH}/`) encoded = hash.slice(1);
  else if (path.startsWith(`${JOIN_PATH}/`)) encoded = path.slice(JOIN_PATH.length + 1);
  if (encoded === "") return null;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}
