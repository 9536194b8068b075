import { describe, expect, it } from "vitest";
import { Live, backoff, type ConnectionState, type Frame, type SocketLike } from "./live";

class FakeSocket implements SocketLike {
  sent: Frame[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Frame);
  }
  close(): void {}
  server(frame: Frame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006): void {
    this.onclose?.({ code });
  }
}

function connected() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const events: Frame[] = [];
  const answers: Frame[] = [];
  const states: ConnectionState[] = [];
  const live = new Live(
    {
      url: "ws://test/api/v1/ws",
      token: "secret",
      cursor: null,
      open: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      delay: () => 1,
      setTimer: (run) => timers.push(run),
    },
    { event: (f) => events.push(f), answer: (f) => answers.push(f), state: (s) => states.push(s) },
  );
  live.start();
  return { live, sockets, timers, events, answers, states };
}

const message = (cursor: number): Frame => ({ type: "message", cursor, message: { id: cursor } });

describe("the live connection", () => {
  it("starts from now, then resumes from the last event after a drop, without repeats", () => {
    const { sockets, timers, events, states } = connected();
    const first = sockets[0]!;
    first.onopen?.({});
    expect(first.sent).toEqual([{ type: "auth", token: "secret" }]);
    first.server({ type: "ready", user_id: 1, cursor: 10 });
    first.server(message(11));
    first.server(message(12));
    first.drop();
    expect(states.at(-1)).toEqual({ kind: "offline", retryInSeconds: 1 });

    timers.shift()!();
    const second = sockets[1]!;
    second.onopen?.({});
    expect(second.sent).toEqual([{ type: "auth", token: "secret", since: 12 }]);
    second.server({ type: "ready", user_id: 1, cursor: 14 });
    second.server(message(12)); // a repeat is dropped
    second.server(message(13));
    second.server(message(14));
    expect(events.map((e) => e.cursor)).toEqual([11, 12, 13, 14]);
    expect(states.at(-1)).toEqual({ kind: "online" });
  });

  it("hands on acks and errors as answers, and sends only when ready", () => {
    const { live, sockets, answers } = connected();
    const socket = sockets[0]!;
    socket.onopen?.({});
    expect(live.send({ type: "send", text: "hi" })).toBe(false);
    socket.server({ type: "ready", user_id: 1, cursor: 0 });
    expect(live.send({ type: "send", text: "hi" })).toBe(true);
    socket.server({ type: "ack", client_id: "a", cursor: 5 });
    expect(answers).toEqual([{ type: "ack", client_id: "a", cursor: 5 }]);
    expect(live.position).toBe(0); // an ack moves no cursor: its message comes on a resume
  });

  it("stops on signed_out without reconnecting", () => {
    const { sockets, timers, states } = connected();
    sockets[0]!.drop(4401);
    expect(states.at(-1)).toEqual({ kind: "signed_out" });
    expect(timers).toEqual([]);
  });

  it("waits longer after each failed attempt, up to 30 s", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 5, 9].map((attempt) => backoff(attempt, middle))).toEqual([1, 2, 4, 30, 30]);
  });
});
