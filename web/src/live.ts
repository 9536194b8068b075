// The live connection: one WebSocket, authenticated in its first frame, that resumes from the
// last stream cursor after a drop, so nothing is lost; events at or below the cursor are dropped,
// so nothing is shown twice.

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "online" }
  | { kind: "offline"; retryInSeconds: number }
  | { kind: "signed_out" };

/** A frame from the server: stream events carry a `cursor`; acks, errors, typing and posts are
 * answers and pushes outside the stream. */
export interface Frame {
  type: string;
  cursor?: number;
  [field: string]: unknown;
}

// Frames whose `cursor` is a stream position of the user's own stream (docs/api.md, Events).
const STREAM_EVENTS = new Set([
  "message",
  "conversation",
  "notice",
  "tombstone",
  "invitation",
  "friend_request",
  "contact",
  "correction",
  "recall",
  "read",
]);

export interface SocketLike {
  send(data: string): void;
  close(code?: number): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
}

export interface LiveHandlers {
  event(frame: Frame): void;
  answer(frame: Frame): void;
  state(state: ConnectionState): void;
}

export interface LiveOptions {
  url: string;
  token: string;
  /** Where to resume from; null: from now (the `ready` frame says where that is). */
  cursor: number | null;
  open?: (url: string) => SocketLike;
  delay?: (attempt: number) => number;
  setTimer?: (run: () => void, ms: number) => unknown;
}

const SIGNED_OUT = 4401;

/** Seconds before reconnect attempt `attempt` (0 first): 1, 2, 4 … up to 30, with jitter. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30, 2 ** attempt);
  return base * (0.75 + random() * 0.5);
}

export class Live {
  private socket: SocketLike | null = null;
  private ready = false;
  private cursor: number | null;
  private attempt = 0;
  private stopped = false;
  private readonly open: (url: string) => SocketLike;
  private readonly delay: (attempt: number) => number;
  private readonly setTimer: (run: () => void, ms: number) => unknown;

  constructor(
    private readonly options: LiveOptions,
    private readonly handlers: LiveHandlers,
  ) {
    this.cursor = options.cursor;
    this.open = options.open ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.delay = options.delay ?? ((attempt) => backoff(attempt));
    this.setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms));
  }

  /** The stream position of the last event handed on: where a reconnect resumes from. */
  get position(): number | null {
    return this.cursor;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000);
    this.socket = null;
  }

  /** Send a frame now; false when there is no open connection (the caller keeps it). */
  send(frame: Frame): boolean {
    if (!this.socket || !this.ready) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    this.handlers.state({ kind: "connecting" });
    this.ready = false;
    const socket = this.open(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      const since = this.cursor === null ? {} : { since: this.cursor };
      socket.send(JSON.stringify({ type: "auth", token: this.options.token, ...since }));
    };
    socket.onmessage = (message) => this.receive(String(message.data));
    socket.onclose = (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.ready = false;
      if (this.stopped) return;
      if (closed.code === SIGNED_OUT) {
        this.handlers.state({ kind: "signed_out" });
        return;
      }
      const seconds = this.delay(this.attempt++);
      this.handlers.state({ kind: "offline", retryInSeconds: Math.ceil(seconds) });
      this.setTimer(() => {
        if (!this.stopped) this.connect();
      }, seconds * 1000);
    };
  }

  private receive(data: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return; // the server sends JSON only; a broken frame is no event
    }
    if (frame.type === "ready") {
      if (this.cursor === null && typeof frame.cursor === "number") this.cursor = frame.cursor;
      this.attempt = 0;
      this.ready = true;
      this.handlers.state({ kind: "online" });
      return;
    }
    if (frame.type === "signed_out") {
      this.stopped = true;
      this.handlers.state({ kind: "signed_out" });
      return;
    }
    if (STREAM_EVENTS.has(frame.type) && typeof frame.cursor === "number") {
      if (this.cursor !== null && frame.cursor <= this.cursor) return; // handed on already
      this.cursor = frame.cursor;
      this.handlers.event(frame);
      return;
    }
    this.handlers.answer(frame);
  }
}
