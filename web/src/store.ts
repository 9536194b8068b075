// What the signed-in user's app knows: their conversations, the messages loaded of each, the
// names of the people in them, and the sends waiting for their ack. REST fills it; live events
// keep it current. Views subscribe and re-render on each change.
import {
  api,
  must,
  ApiError,
  type ConversationSummary,
  type Message,
  type Schemas,
  type UserCard,
} from "./api/client";
import type { Frame } from "./live";
import type { Media } from "./media";

export interface Pending {
  clientId: string;
  conversationId: number;
  text: string;
  /** What it carries, uploaded already. */
  media: Media[];
  error: ApiError | null;
}

export type Invitation = Schemas["Invitation"];
type NoticeFrame = Schemas["NoticeEvent"] | Schemas["CorrectionEvent"];
export type Correction = Schemas["Correction"];
/** A timeline entry: a post, or a removed post's tombstone. */
export type LivePost = Schemas["Timeline"]["posts"][number];

/** A notice or a correction the user was sent (sanctions, removals, report outcomes, rumours). */
export interface Received {
  cursor: number;
  type: "notice" | "correction";
  notice?: Schemas["Notice"];
  correction?: Correction;
}

/** What a send may carry besides its text. */
export interface SendExtras {
  replyTo?: number | null;
  mentions?: number[];
  /** Uploaded media to carry, in order (with them the text may be empty). */
  media?: Media[];
}

/** The user's own account as `GET /api/v1/me` gives it: profile, standing, sanctions. */
export type Profile = Schemas["Me"];

type Listener = () => void;
type GroupChange = Schemas["GroupChange"];
/** Group changes after which the group's waiting requests to join are not what they were. */
const JOIN_REQUEST_ACTIONS = new Set<GroupChange["action"]>(["join_requested", "join_declined", "join_withdrawn", "joined"]);
const NAMES_PER_ASK = 100; // GET /api/v1/users takes up to 100 ids

export class ChatStore {
  readonly conversations = new Map<number, ConversationSummary>();
  readonly messages = new Map<number, Map<number, Message>>();
  readonly olderCursor = new Map<number, string | null>();
  private readonly threads = new Map<number, Message[]>();
  readonly names = new Map<number, UserCard>();
  readonly pending = new Map<string, Pending>();
  readonly invitations = new Map<number, Invitation>();
  friends: Schemas["Contact"][] = [];
  blocked: Schemas["Contact"][] = [];
  /** Notices and corrections, in stream order; `unseen` arrived live since the tab was open. */
  readonly received: Received[] = [];
  unseen = 0;
  /** Posts seen removed (a tombstone, or a live push of the removal), by id. */
  readonly removedPosts = new Set<number>();
  /** Posts pushed live since the app opened (a subscriber's timeline shows them at once), newest first. */
  readonly livePosts: LivePost[] = [];
  /** Media a reviewer took down with a message that carried them: gone wherever else they were
   * sent too (their downloads now answer 404). */
  readonly removedMedia = new Set<number>();
  // Names being asked for, by user: a second ask waits for the first.
  private readonly asking = new Map<number, Promise<void>>();
  private readonly listeners = new Set<Listener>();
  /** Per group, how many live events changed its waiting requests to join (see `joinRequestsTold`). */
  private readonly joinRequestNews = new Map<number, number>();

  constructor(private profile: Profile) {
    this.names.set(profile.id, profile);
  }

  /** The signed-in user (also their card among the names). */
  get me(): Profile {
    return this.profile;
  }

  /** The user's account as it now stands: after they edit their profile, or a sanction notice. */
  setProfile(profile: Profile): void {
    this.profile = profile;
    this.names.set(profile.id, profile);
    this.changed();
  }

  async refreshProfile(): Promise<void> {
    this.setProfile(must(await api.GET("/api/v1/me")));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Conversations, most recent activity first. */
  ordered(): ConversationSummary[] {
    const at = (c: ConversationSummary) => c.last_message?.created_at ?? c.created_at;
    return [...this.conversations.values()].sort((a, b) => at(b).localeCompare(at(a)));
  }

  /** A conversation's loaded messages in order, oldest first (sorted once per change: a long
   * chat is drawn on every change of the store). */
  thread(conversationId: number): Message[] {
    let ordered = this.threads.get(conversationId);
    if (!ordered) {
      ordered = [...(this.messages.get(conversationId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
      this.threads.set(conversationId, ordered);
    }
    return ordered;
  }

  async loadConversations(): Promise<void> {
    let cursor: string | null = null;
    const seen = new Set<number>();
    do {
      const page: Schemas["ConversationPage"] = must(
        await api.GET("/api/v1/conversations", {
          params: { query: { limit: 500, ...(cursor ? { cursor } : {}) } },
        }),
      );
      for (const conversation of page.conversations) {
        this.conversations.set(conversation.id, conversation);
        seen.add(conversation.id);
      }
      cursor = page.next_cursor;
    } while (cursor);
    // A group left, dissolved or one was removed from is no longer listed: drop it here too.
    for (const id of [...this.conversations.keys()]) if (!seen.has(id)) this.forget(id);
    await this.learnNames([...this.conversations.values()].flatMap((c) => c.members.map((m) => m.user_id)));
    this.changed();
  }

  /** The user's friends, named (the contact list, and whom a new group can invite), and whom
   * they block. */
  async loadFriends(): Promise<void> {
    const ties: Schemas["Contact"][] = [];
    let cursor: string | null = null;
    do {
      const page: Schemas["ContactPage"] = must(
        await api.GET("/api/v1/contacts", {
          params: { query: { limit: 500, ...(cursor ? { cursor } : {}) } },
        }),
      );
      ties.push(...page.contacts);
      cursor = page.next_cursor;
    } while (cursor);
    this.friends = ties.filter((tie) => tie.friend && !tie.blocked);
    this.blocked = ties.filter((tie) => tie.blocked);
    await this.learnNames(ties.map((tie) => tie.user_id));
    this.changed();
  }

  async loadInvitations(): Promise<void> {
    const page = must(await api.GET("/api/v1/invitations", { params: { query: { limit: 500 } } }));
    this.invitations.clear();
    for (const invitation of page.invitations) this.invitations.set(invitation.conversation_id, invitation);
    await this.learnNames(page.invitations.map((i) => i.inviter_id));
    this.changed();
  }

  /** Accept or decline a group's invitation; an accepted group joins the list. */
  async answerInvitation(conversationId: number, accept: boolean): Promise<void> {
    const path = accept
      ? "/api/v1/invitations/{conversation_id}/accept"
      : "/api/v1/invitations/{conversation_id}/decline";
    try {
      must(await api.POST(path, { params: { path: { conversation_id: conversationId } } }));
    } catch (refused) {
      // The group was dissolved, or the invitation used up another way: it is gone.
      if (refused instanceof ApiError && refused.status === 404) {
        this.invitations.delete(conversationId);
        this.changed();
      }
      throw refused;
    }
    this.invitations.delete(conversationId);
    if (accept) await this.loadConversations();
    this.changed();
  }

  async createGroup(title: string, memberIds: number[]): Promise<number> {
    const made = must(
      await api.POST("/api/v1/conversations", {
        body: { kind: "group", title, member_ids: memberIds },
      }),
    );
    await this.loadConversations();
    return made.id;
  }

  async recall(conversationId: number, messageId: number): Promise<void> {
    const recalled = must(
      await api.POST("/api/v1/conversations/{conversation_id}/messages/{message_id}/recall", {
        params: { path: { conversation_id: conversationId, message_id: messageId } },
      }),
    );
    this.keep(recalled);
    this.changed();
  }

  /** The next page of older messages of a conversation (the first call: the newest page). */
  async loadOlder(conversationId: number): Promise<void> {
    const cursor = this.olderCursor.get(conversationId);
    if (cursor === null) return; // no more
    const page = must(
      await api.GET("/api/v1/conversations/{conversation_id}/messages", {
        params: {
          path: { conversation_id: conversationId },
          query: cursor ? { cursor } : {},
        },
      }),
    );
    for (const message of page.messages) this.keep(message);
    this.olderCursor.set(conversationId, page.next_cursor);
    await this.learnNames(page.messages.map((m) => m.sender_id));
    this.changed();
  }

  /** Ask again for the names of users already known: someone may have changed their display
   * name (the server sends no event for it), so an opened chat reads them afresh. */
  async refreshNames(ids: Iterable<number>): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => id !== this.me.id);
    let renamed = false;
    for (let start = 0; start < wanted.length; start += NAMES_PER_ASK) {
      const batch = wanted.slice(start, start + NAMES_PER_ASK);
      const found = must(await api.GET("/api/v1/users", { params: { query: { id: batch } } }));
      for (const card of found.users) {
        if (this.names.get(card.id)?.display_name !== card.display_name) renamed = true;
        this.names.set(card.id, card);
      }
    }
    if (renamed) this.changed();
  }

  /** Ask for the names of users not known yet (those the server tells us of). The server names
   * only those the caller knows: one left out (invited to a group, not in it yet) is asked again
   * by the next event that names them, once an ask already under way for them has answered. */
  async learnNames(ids: Iterable<number>): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.names.has(id));
    await Promise.all(wanted.flatMap((id) => this.asking.get(id) ?? []));
    const unknown = wanted.filter((id) => !this.names.has(id) && !this.asking.has(id));
    for (let start = 0; start < unknown.length; start += NAMES_PER_ASK) {
      const batch = unknown.slice(start, start + NAMES_PER_ASK);
      const asked = this.askNames(batch);
      batch.forEach((id) => this.asking.set(id, asked));
      try {
        await asked;
      } finally {
        batch.forEach((id) => this.asking.delete(id));
      }
    }
    if (unknown.length) this.changed();
  }

  private async askNames(batch: number[]): Promise<void> {
    const found = must(await api.GET("/api/v1/users", { params: { query: { id: batch } } }));
    for (const card of found.users) this.names.set(card.id, card);
  }

  private keep(message: Message): void {
    let loaded = this.messages.get(message.conversation_id);
    if (!loaded) {
      loaded = new Map();
      this.messages.set(message.conversation_id, loaded);
    }
    loaded.set(message.id, message);
    this.threads.delete(message.conversation_id);
    const conversation = this.conversations.get(message.conversation_id);
    if (conversation && (!conversation.last_message || conversation.last_message.seq <= message.seq)) {
      conversation.last_message = message;
    }
  }

  /** A stream event from the live connection. */
  apply(frame: Frame): void {
    switch (frame.type) {
      case "message": {
        const message = frame["message"] as Message;
        const conversation = this.conversations.get(message.conversation_id);
        // Unread once: a conversation loaded after the message was stored counts it already.
        const last = conversation?.last_message?.seq ?? 0;
        if (conversation && message.seq > last && message.sender_id !== this.me.id) {
          conversation.unread += 1;
        }
        this.keep(message);
        if (!conversation) void this.loadConversations();
        void this.learnNames([message.sender_id]);
        break;
      }
      case "recall": {
        const recall = frame["recall"] as { conversation_id: number; message_id: number };
        this.mark(recall.conversation_id, recall.message_id, { recalled: true, text: "", media: undefined });
        break;
      }
      case "tombstone": {
        const target = frame["target"] as { type: string; id: number; conversation_id?: number };
        if (target.type === "message" && target.conversation_id !== undefined) {
          const carried = this.message(target.conversation_id, target.id)?.media ?? [];
          for (const media of carried) this.removedMedia.add(media.id);
          this.mark(target.conversation_id, target.id, { moderation: "removed", text: "", media: undefined });
        }
        if (target.type === "post") this.removedPosts.add(target.id);
        break;
      }
      case "notice":
      case "correction":
        this.receive(frame as NoticeFrame);
        this.unseen += 1;
        // A sanction applied or ended changes the user's standing, which /me states.
        if ((frame as NoticeFrame).type === "notice" && frame["notice"]) {
          const { kind } = frame["notice"] as Schemas["Notice"];
          if (kind === "sanction_applied" || kind === "sanction_ended") void this.refreshProfile();
        }
        break;
      case "read": {
        const read = frame["read"] as { conversation_id: number; user_id: number; seq: number };
        const conversation = this.conversations.get(read.conversation_id);
        if (conversation && read.user_id === this.me.id && read.seq > conversation.read_seq) {
          conversation.read_seq = read.seq;
          conversation.unread = this.unreadAfter(read.conversation_id, read.seq);
        } else if (conversation && read.user_id !== this.me.id && read.seq > (conversation.partner_read_seq ?? 0)) {
          conversation.partner_read_seq = read.seq; // a read receipt: the other has read up to it
        }
        break;
      }
      case "conversation": {
        const conversation = frame["conversation"] as ConversationSummary;
        const change = frame["change"] as GroupChange | undefined;
        const member = conversation.members.some((m) => m.user_id === this.me.id);
        if (change?.action === "dissolved" || !member) {
          this.forget(conversation.id); // dissolved, left or removed: out of the list
          break;
        }
        if (change && JOIN_REQUEST_ACTIONS.has(change.action)) {
          this.joinRequestNews.set(conversation.id, this.joinRequestsTold(conversation.id) + 1);
        }
        this.invitations.delete(conversation.id); // in it now: an invitation is used up
        const known = this.conversations.get(conversation.id);
        if (known) {
          // Members, roles, title and settings as they now stand; unread and the last message stay.
          Object.assign(known, conversation, { unread: known.unread, last_message: known.last_message });
          void this.learnNames(conversation.members.map((m) => m.user_id));
        } else {
          void this.loadConversations();
        }
        break;
      }
      case "contact":
        void this.loadFriends();
        return;
      case "invitation": {
        const invitation = frame["invitation"] as Invitation;
        this.invitations.set(invitation.conversation_id, invitation);
        void this.learnNames([invitation.inviter_id]);
        break;
      }
      default:
        return;
    }
    this.changed();
  }

  /** How many live events have changed the group's waiting requests to join: a request made,
   * declined, withdrawn, or used up by the asker's joining. Its owner and admins alone are told
   * of requests; a page listing them reads them again when this moves. */
  joinRequestsTold(conversationId: number): number {
    return this.joinRequestNews.get(conversationId) ?? 0;
  }

  /** A conversation the user is no longer in: out of the list, with what was loaded of it. */
  private forget(conversationId: number): void {
    this.conversations.delete(conversationId);
    this.messages.delete(conversationId);
    this.threads.delete(conversationId);
    this.olderCursor.delete(conversationId);
    this.invitations.delete(conversationId);
  }

  private unreadAfter(conversationId: number, seq: number): number {
    return this.thread(conversationId).filter(
      (m) => m.seq > seq && m.sender_id !== this.me.id && !m.recalled && !m.moderation,
    ).length;
  }

  private mark(conversationId: number, messageId: number, change: Partial<Message>): void {
    const message = this.messages.get(conversationId)?.get(messageId);
    if (message) Object.assign(message, change);
    const conversation = this.conversations.get(conversationId);
    if (conversation?.last_message?.id === messageId) Object.assign(conversation.last_message, change);
  }

  /** What the platform told the user before now (the newest page), beside what arrives live. */
  async loadNotices(): Promise<void> {
    const page = must(await api.GET("/api/v1/notices", { params: { query: { limit: 100 } } }));
    for (const event of page.notices) this.receive(event);
    this.changed();
  }

  /** A notice or correction, once, in stream order. */
  private receive(event: NoticeFrame): void {
    if (this.received.some((known) => known.cursor === event.cursor)) return;
    const item: Received =
      event.type === "notice"
        ? { cursor: event.cursor, type: "notice", notice: event.notice }
        : { cursor: event.cursor, type: "correction", correction: event.correction };
    const at = this.received.findIndex((known) => known.cursor > event.cursor);
    this.received.splice(at === -1 ? this.received.length : at, 0, item);
    const { correction } = item;
    if (correction?.target.type === "post" && correction.decision === "remove") {
      this.removedPosts.add(correction.target.id);
    }
  }

  /** The notices tab was opened: what arrived is seen. */
  seenNotices(): void {
    if (this.unseen === 0) return;
    this.unseen = 0;
    this.changed();
  }

  /** The corrections sent about a post (a reviewer found it false). */
  correctionsOf(postId: number): Correction[] {
    return this.received.flatMap((r) =>
      r.correction?.target.type === "post" && r.correction.target.id === postId ? [r.correction] : [],
    );
  }

  /** An answer outside the stream: the ack of a send, its refusal, or a live post. */
  answer(frame: Frame): void {
    if (frame.type === "post") {
      const post = frame["post"] as LivePost;
      if (post.moderation === "removed") this.removedPosts.add(post.id);
      else {
        // New, or approved after review: first in the timeline of an open Accounts tab.
        const at = this.livePosts.findIndex((known) => known.id === post.id);
        if (at !== -1) this.livePosts.splice(at, 1);
        this.livePosts.unshift(post);
      }
      this.changed();
      return;
    }
    const clientId = typeof frame["client_id"] === "string" ? frame["client_id"] : null;
    const waiting = clientId ? this.pending.get(clientId) : undefined;
    if (!waiting) return;
    if (frame.type === "ack") {
      this.pending.delete(waiting.clientId);
      this.keep(frame["message"] as Message);
    } else if (frame.type === "error") {
      const error = frame["error"] as { code: string; message: string; retry_after?: number };
      waiting.error = new ApiError(0, error.code, error.message, error.retry_after ?? null);
    }
    this.changed();
  }

  /** Note a send as waiting for its ack; the frame to send is returned. */
  beginSend(conversationId: number, text: string, extras: SendExtras = {}): Frame {
    const clientId = crypto.randomUUID();
    const media = extras.media ?? [];
    this.pending.set(clientId, { clientId, conversationId, text, media, error: null });
    this.changed();
    return {
      type: "send",
      conversation_id: conversationId,
      text,
      client_id: clientId,
      ...(extras.replyTo ? { reply_to: extras.replyTo } : {}),
      ...(extras.mentions?.length ? { mentions: extras.mentions } : {}),
      ...(media.length ? { media_ids: media.map((m) => m.id) } : {}),
    };
  }

  /** Send over HTTP what could not go over the socket (same client_id: never stored twice). */
  async sendOverHttp(frame: Frame): Promise<void> {
    const clientId = String(frame["client_id"]);
    const conversationId = Number(frame["conversation_id"]);
    try {
      const message = must(
        await api.POST("/api/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId } },
          body: {
            text: String(frame["text"]),
            client_id: clientId,
            reply_to: (frame["reply_to"] as number | undefined) ?? null,
            mentions: (frame["mentions"] as number[] | undefined) ?? [],
            media_ids: (frame["media_ids"] as number[] | undefined) ?? [],
          },
        }),
      );
      this.pending.delete(clientId);
      this.keep(message);
    } catch (error) {
      const waiting = this.pending.get(clientId);
      if (waiting && error instanceof ApiError) waiting.error = error;
      else throw error;
    }
    this.changed();
  }

  dismiss(clientId: string): void {
    this.pending.delete(clientId);
    this.changed();
  }

  /** Move the read cursor to the newest loaded message (a read receipt in a direct chat). */
  async markRead(conversationId: number): Promise<void> {
    const conversation = this.conversations.get(conversationId);
    const newest = this.thread(conversationId).at(-1);
    if (!conversation || !newest || newest.seq <= conversation.read_seq) return;
    const read = must(
      await api.POST("/api/v1/conversations/{conversation_id}/read", {
        params: { path: { conversation_id: conversationId } },
        body: { seq: newest.seq },
      }),
    );
    conversation.read_seq = read.seq;
    conversation.unread = read.unread;
    this.changed();
  }

  /** A loaded message of a conversation, by id (what a reply quotes). */
  message(conversationId: number, messageId: number): Message | undefined {
    return this.messages.get(conversationId)?.get(messageId);
  }

  nameOf(userId: number): string | null {
    return this.names.get(userId)?.display_name ?? null;
  }

  /** A direct conversation's other member; null for a group. */
  otherOf(conversation: ConversationSummary): number | null {
    if (conversation.kind !== "direct") return null;
    return conversation.members.find((m) => m.user_id !== this.me.id)?.user_id ?? null;
  }
}
