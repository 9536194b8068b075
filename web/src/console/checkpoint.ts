// The audit log's checkpoint checked here, in the browser, from the specifications alone
// (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, RFC 9162's inclusion proofs): the console
// does not take the server's word that its log is whole.
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512; // synchronous: no reliance on crypto.subtle (absent over plain HTTP)

const EM_DASH = "\u2014";
const ED25519 = 0x01;
const encoder = new TextEncoder();

export class NotVerified extends Error {}

export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

/** `<name>+<hex key ID>+<base64(0x01 || Ed25519 public key)>`. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const [name, keyIdHex, ...rest] = vkey.trim().split("+");
  const material = fromBase64(rest.join("+"));
  if (!name || !keyIdHex || material.length !== 33 || material[0] !== ED25519) {
    throw new NotVerified("not an Ed25519 verifier key");
  }
  const keyId = sha256(concat(encoder.encode(`${name}\n`), material)).slice(0, 4);
  if (toHex(keyId) !== keyIdHex.toLowerCase()) throw new NotVerified("the key ID does not match the key");
  return { name, keyId, publicKey: material.slice(1) };
}

/** The note's text, if `key` signed it; any other key's signature lines are passed over. */
export function openSignedNote(note: string, key: VerifierKey): string {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new NotVerified("no signature block");
  const text = note.slice(0, split + 1);
  let verified = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const [dash, name, encoded] = line.split(" ");
    if (dash !== EM_DASH || !name || !encoded) throw new NotVerified(`not a signature line: ${line}`);
    const signed = fromBase64(encoded);
    if (name !== key.name || signed.length !== 68 || !equal(signed.slice(0, 4), key.keyId)) continue;
    if (!ed.verify(signed.slice(4), encoder.encode(text), key.publicKey)) {
      throw new NotVerified("the signature does not verify");
    }
    verified = true;
  }
  if (!verified) throw new NotVerified("the key did not sign this note");
  return text;
}

export interface CheckpointBody {
  origin: string;
  treeSize: number;
  root: Uint8Array;
}

/** A checkpoint's body: its origin, tree size and root hash, then any extension lines. */
export function parseCheckpoint(text: string): CheckpointBody {
  const [origin, size, root] = text.split("\n");
  if (!origin || !size || !/^\d+$/.test(size) || !root) throw new NotVerified("not a checkpoint");
  return { origin, treeSize: Number(size), root: fromBase64(root) };
}

/** Whether `path` leads from the leaf at `index` to `root` in a tree of `size` (RFC 9162, 2.1.3.2). */
export function provesInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index >= size) return false;
  let [fn, sn, hash] = [index, size - 1, leafHash];
  for (const node of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      hash = nodeHash(node, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hash = nodeHash(hash, node);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(hash, root);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    throw new NotVerified("not base64");
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
