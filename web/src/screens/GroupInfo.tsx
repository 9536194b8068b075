import { useEffect, useState } from "preact/hooks";
import { encode } from "uqr";
import { api, must, type ConversationSummary, type Schemas } from "../api/client";
import { useOutcome } from "../hooks";
import { formatTime, labelOf, t } from "../i18n";
import { joinUrl } from "../joinLinks";
import type { ChatStore } from "../store";
import { ReportButton } from "./Report";

type Member = Schemas["Member"];
type JoinLink = Schemas["JoinLink"];
type JoinRequest = Schemas["JoinRequest"];
type JoinLinkPreview = Schemas["JoinLinkPreview"];

/** Asks the person who opened a join link whether to join; `onDone` with the group once in. */
export function JoinPrompt(props: { store: ChatStore; token: string; onDone(conversationId: number | null): void }) {
  const [said, attempt] = useOutcome();
  const [preview, setPreview] = useState<JoinLinkPreview | null>(null);
  // What the link leads to, as a scan shows it; a link that no longer works says so at once.
  useEffect(() => {
    void attempt(async () => {
      setPreview(must(await api.POST("/api/v1/join-links/preview", { body: { token: props.token } })));
    });
  }, [props.token]);
  const join = () =>
    attempt(async () => {
      const result = must(await api.POST("/api/v1/join-links/join", { body: { token: props.token } }));
      if (result.state === "pending") return t("join.pending");
      await props.store.loadConversations();
      props.onDone(result.conversation_id);
    });
  return (
    <section class="join-prompt" role="dialog" aria-labelledby="join-title">
      <h3 id="join-title">{t("join.title")}</h3>
      <p>
        {preview === null ? t("join.prompt") : t(promptOf(preview), { title: preview.title ?? "", members: preview.members })}
      </p>
      {said && <p role="status">{said}</p>}
      {said === null && preview?.member === true && (
        <button type="button" onClick={() => props.onDone(preview.conversation_id)}>
          {t("join.open")}
        </button>
      )}
      {said === null && preview?.member !== true && (
        <button type="button" onClick={() => void join()}>
          {t("join.join")}
        </button>
      )}
      <button type="button" class="quiet" onClick={() => props.onDone(null)}>
        {said === null ? t("join.later") : t("group.cancel")}
      </button>
    </section>
  );
}

function promptOf(preview: JoinLinkPreview): "join.prompt.member" | "join.prompt.approval" | "join.prompt.group" {
  if (preview.member) return "join.prompt.member";
  return preview.needs_approval ? "join.prompt.approval" : "join.prompt.group";
}

/** A group's page: its announcement, members and their roles, join links as QR codes, join
 * requests, and leaving. What a member may change follows their role; the server decides. */
export function GroupInfo(props: { store: ChatStore; conversation: ConversationSummary; onLeft(): void }) {
  const { store, conversation } = props;
  const [said, run] = useOutcome();
  const mine = conversation.members.find((member) => member.user_id === store.me.id);
  const runs = mine?.role === "owner" || mine?.role === "admin";
  const path = { params: { path: { conversation_id: conversation.id } } };

  // Each change answers with the group as it now stands: the list is read again after it.
  const attempt: Attempt = (action, done) =>
    run(async () => {
      await action();
      await store.loadConversations();
      return done;
    });

  const owner = mine?.role === "owner";
  const mayInvite = runs || conversation.group?.members_invite === true;
  const [confirming, setConfirming] = useState(false);
  const leave = () =>
    attempt(async () => {
      must(await (owner ? api.DELETE("/api/v1/conversations/{conversation_id}", path) : api.POST("/api/v1/conversations/{conversation_id}/leave", path)));
      props.onLeft();
    });

  return (
    <aside class="group-info" aria-labelledby="group-info-title">
      <h3 id="group-info-title">{t("groupinfo.title")}</h3>
      {said && <p role="status">{said}</p>}
      {runs && <Rename conversation={conversation} attempt={attempt} />}
      <Announcement conversation={conversation} editable={runs} attempt={attempt} />
      <Members store={store} conversation={conversation} myRole={mine?.role ?? "member"} attempt={attempt} />
      {mayInvite && <Invite store={store} conversation={conversation} attempt={attempt} />}
      {runs && <JoinLinks conversation={conversation} />}
      {runs && <JoinRequests store={store} conversation={conversation} attempt={attempt} />}
      {confirming ? (
        <section class="danger confirm-leave" role="alertdialog" aria-labelledby="confirm-leave-title">
          <p id="confirm-leave-title">
            {owner
              ? t("groupinfo.dissolve_confirm", { title: conversation.title ?? "" })
              : t("groupinfo.leave_confirm", { title: conversation.title ?? "" })}
          </p>
          <button type="button" class="danger" onClick={() => void leave()}>
            {owner ? t("groupinfo.dissolve_yes") : t("groupinfo.leave_yes")}
          </button>{" "}
          <button type="button" class="quiet" onClick={() => setConfirming(false)}>
            {t("group.cancel")}
          </button>
        </section>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          {owner ? t("groupinfo.dissolve") : t("groupinfo.leave")}
        </button>
      )}{" "}
      <ReportButton target="group" id={conversation.id} label={t("report.named", { name: conversation.title ?? "" })} />
    </aside>
  );
}

const GROUP_TITLE_MAX = 128; // the server's name rules: a title of up to 128 characters

type Attempt = (action: () => Promise<unknown>, done?: string) => Promise<void>;

/** The owner and admins rename the group. */
function Rename(props: { conversation: ConversationSummary; attempt: Attempt }) {
  const current = props.conversation.title ?? "";
  const [title, setTitle] = useState(current);
  useEffect(() => setTitle(current), [current]);
  const save = (event: Event) => {
    event.preventDefault();
    const wanted = title.trim();
    if (!wanted || wanted === current) return;
    void props.attempt(
      async () =>
        must(
          await api.PATCH("/api/v1/conversations/{conversation_id}", {
            params: { path: { conversation_id: props.conversation.id } },
            body: { title: wanted },
          }),
        ),
      t("me.saved"),
    );
  };
  return (
    <form class="rename" onSubmit={save}>
      <label>
        {t("groupinfo.name")}
        <input name="group-title" required maxLength={GROUP_TITLE_MAX} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <button type="submit">{t("groupinfo.rename")}</button>
    </form>
  );
}

/** Invite friends not in the group yet: those the server lets in at once join, the others get
 * an invitation. */
function Invite(props: { store: ChatStore; conversation: ConversationSummary; attempt: Attempt }) {
  const { store, conversation } = props;
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const inGroup = new Set(conversation.members.map((m) => m.user_id));
  const people = store.friends.flatMap((tie) => (inGroup.has(tie.user_id) ? [] : (store.names.get(tie.user_id) ?? [])));
  const toggle = (id: number) => {
    const next = new Set(chosen);
    if (!next.delete(id)) next.add(id);
    setChosen(next);
  };
  const invite = (event: Event) => {
    event.preventDefault();
    if (chosen.size === 0) return;
    void props.attempt(async () => {
      const result = must(
        await api.POST("/api/v1/conversations/{conversation_id}/members", {
          params: { path: { conversation_id: conversation.id } },
          body: { member_ids: [...chosen] },
        }),
      );
      setChosen(new Set());
      return result;
    }, t("groupinfo.invited"));
  };
  return (
    <form class="invite" onSubmit={invite}>
      <fieldset>
        <legend>{t("groupinfo.invite")}</legend>
        {people.length === 0 && <p>{t("groupinfo.no_one_to_invite")}</p>}
        {people.map((card) => (
          <label class="check" key={card.id}>
            <input type="checkbox" name="invitee" value={card.handle} checked={chosen.has(card.id)} onChange={() => toggle(card.id)} />
            {card.display_name} <small>@{card.handle}</small>
          </label>
        ))}
      </fieldset>
      {people.length > 0 && <button type="submit">{t("groupinfo.invite_send")}</button>}
    </form>
  );
}

function Announcement(props: { conversation: ConversationSummary; editable: boolean; attempt: Attempt }) {
  const current = props.conversation.group?.announcement ?? "";
  const [text, setText] = useState(current);
  const save = (event: Event) => {
    event.preventDefault();
    void props.attempt(
      async () =>
        must(
          await api.PATCH("/api/v1/conversations/{conversation_id}", {
            params: { path: { conversation_id: props.conversation.id } },
            body: { announcement: text },
          }),
        ),
      t("me.saved"),
    );
  };
  if (!props.editable) {
    return current ? (
      <section class="announcement">
        <h4>{t("groupinfo.announcement")}</h4>
        <p class="text">{current}</p>
      </section>
    ) : null;
  }
  return (
    <form class="announcement" onSubmit={save}>
      <label>
        {t("groupinfo.announcement")}
        <textarea name="announcement" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <button type="submit">{t("me.save")}</button>
    </form>
  );
}

function Members(props: { store: ChatStore; conversation: ConversationSummary; myRole: string; attempt: Attempt }) {
  const { store, conversation, myRole } = props;
  const ids = { conversation_id: conversation.id };
  const name = (id: number) => store.nameOf(id) ?? t("chat.someone", { id });

  const promote = (member: Member) =>
    props.attempt(async () => {
      const path = "/api/v1/conversations/{conversation_id}/admins/{user_id}";
      const params = { params: { path: { ...ids, user_id: member.user_id } } };
      must(await (member.role === "admin" ? api.DELETE(path, params) : api.PUT(path, params)));
    });
  const remove = (member: Member) =>
    props.attempt(async () =>
      must(
        await api.DELETE("/api/v1/conversations/{conversation_id}/members/{user_id}", {
          params: { path: { ...ids, user_id: member.user_id } },
        }),
      ),
    );
  const mayRemove = (member: Member) =>
    member.user_id !== store.me.id && (myRole === "owner" || (myRole === "admin" && member.role === "member"));

  return (
    <section aria-labelledby="members-title">
      <h4 id="members-title">{t("groupinfo.members", { count: conversation.members.length })}</h4>
      <ul class="members">
        {conversation.members.map((member) => (
          <li class="person" key={member.user_id}>
            <span>
              {name(member.user_id)}
              {member.role !== "member" && <span class="badge">{labelOf("role", member.role)}</span>}
            </span>
            {myRole === "owner" && member.role !== "owner" && (
              <button type="button" class="quiet" onClick={() => void promote(member)}>
                {member.role === "admin" ? t("groupinfo.unmake_admin") : t("groupinfo.make_admin")}
              </button>
            )}
            {mayRemove(member) && (
              <button
                type="button"
                class="quiet"
                aria-label={t("groupinfo.remove_named", { name: name(member.user_id) })}
                onClick={() => void remove(member)}
              >
                {t("groupinfo.remove")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function JoinLinks({ conversation }: { conversation: ConversationSummary }) {
  const [links, setLinks] = useState<JoinLink[]>([]);
  const [error, attempt] = useOutcome(); // these actions say nothing when they succeed
  const path = { params: { path: { conversation_id: conversation.id } } };

  async function refresh(): Promise<void> {
    setLinks(must(await api.GET("/api/v1/conversations/{conversation_id}/links", path)).links);
  }

  useEffect(() => {
    void attempt(refresh);
  }, [conversation.id]);

  const change = (action: () => Promise<unknown>) =>
    attempt(async () => {
      await action();
      await refresh();
    });

  const make = (needsApproval: boolean) =>
    change(async () =>
      must(await api.POST("/api/v1/conversations/{conversation_id}/links", { ...path, body: { needs_approval: needsApproval } })),
    );
  const revoke = (link: JoinLink) =>
    change(async () =>
      must(
        await api.DELETE("/api/v1/conversations/{conversation_id}/links/{link_id}", {
          params: { path: { conversation_id: conversation.id, link_id: link.id } },
        }),
      ),
    );

  return (
    <section aria-labelledby="links-title">
      <h4 id="links-title">{t("groupinfo.links")}</h4>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {links.map((link) => (
        <figure class="join-link" key={link.id}>
          <QrCode text={joinUrl(link.token)} label={t("groupinfo.qr", { title: conversation.title ?? "" })} />
          <figcaption>
            <input readOnly aria-label={t("groupinfo.link")} value={joinUrl(link.token)} />
            <small>
              {t("groupinfo.expires", { at: formatTime(link.expires_at) })}
              {link.needs_approval && ` · ${t("groupinfo.needs_approval")}`}
            </small>
            <button type="button" class="quiet" onClick={() => void revoke(link)}>
              {t("groupinfo.revoke")}
            </button>
          </figcaption>
        </figure>
      ))}
      <button type="button" onClick={() => void make(false)}>
        {t("groupinfo.new_link")}
      </button>
      <button type="button" class="quiet" onClick={() => void make(true)}>
        {t("groupinfo.new_link_approval")}
      </button>
    </section>
  );
}

/** A QR code drawn as one SVG path, one square per dark module. */
export function QrCode(props: { text: string; label: string }) {
  const { size, data } = encode(props.text, { border: 2, ecc: "M" });
  const squares = data.flatMap((row, y) => row.flatMap((dark, x) => (dark ? [`M${x} ${y}h1v1h-1z`] : [])));
  return (
    <svg class="qr" role="img" aria-label={props.label} viewBox={`0 0 ${size} ${size}`} shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={squares.join("")} fill="#000" />
    </svg>
  );
}

function JoinRequests(props: { store: ChatStore; conversation: ConversationSummary; attempt: Attempt }) {
  const { store, conversation } = props;
  const [requests, setRequests] = useState<JoinRequest[]>([]);

  async function refresh(): Promise<void> {
    const page = must(
      await api.GET("/api/v1/conversations/{conversation_id}/join-requests", {
        params: { path: { conversation_id: conversation.id } },
      }),
    );
    setRequests(page.requests);
    await store.learnNames(page.requests.map((request) => request.user_id));
  }

  // The owner and admins are told live of each request made, declined, withdrawn or used up
  // by a join (`conversation` events the store counts): read the list again then, not now and then.
  const told = store.joinRequestsTold(conversation.id);
  useEffect(() => {
    void refresh().catch(() => undefined);
  }, [conversation.id, told]);

  const answer = (request: JoinRequest, verdict: "approve" | "decline") =>
    props.attempt(async () => {
      const path =
        verdict === "approve"
          ? "/api/v1/conversations/{conversation_id}/join-requests/{user_id}/approve"
          : "/api/v1/conversations/{conversation_id}/join-requests/{user_id}/decline";
      must(await api.POST(path, { params: { path: { conversation_id: conversation.id, user_id: request.user_id } } }));
      await refresh();
    });

  if (requests.length === 0) return null;
  return (
    <section aria-labelledby="join-requests-title">
      <h4 id="join-requests-title">{t("groupinfo.requests")}</h4>
      {requests.map((request) => (
        <div class="person" key={request.user_id}>
          <span>{store.nameOf(request.user_id) ?? t("chat.someone", { id: request.user_id })}</span>
          <button type="button" onClick={() => void answer(request, "approve")}>
            {t("contacts.accept")}
          </button>
          <button type="button" class="quiet" onClick={() => void answer(request, "decline")}>
            {t("contacts.decline")}
          </button>
        </div>
      ))}
    </section>
  );
}
