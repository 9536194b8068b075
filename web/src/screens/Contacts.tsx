import { useEffect, useState } from "preact/hooks";
import { ApiError, api, must, type Schemas, type UserCard } from "../api/client";
import { useOutcome } from "../hooks";
import { t } from "../i18n";
import type { ChatStore } from "../store";
import { ReportButton } from "./Report";

export function Contacts(props: { store: ChatStore; onOpen(conversationId: number): void }) {
  const { store } = props;
  const [handle, setHandle] = useState("");
  const [found, setFound] = useState<UserCard[] | null>(null);
  const [requests, setRequests] = useState<Schemas["FriendRequest"][]>([]);
  // Whom the user asked to be friends on this screen: their search results say so.
  const [asked, setAsked] = useState<ReadonlySet<number>>(new Set());
  const [notice, attempt] = useOutcome();

  async function refresh(): Promise<void> {
    const [waiting] = await Promise.all([
      api.GET("/api/v1/friend-requests").then(must),
      store.loadFriends(),
    ]);
    setRequests(waiting.requests);
    await store.learnNames(waiting.requests.map((r) => r.requester_id));
  }

  useEffect(() => {
    void refresh();
  }, []);

  const search = (event: Event) => {
    event.preventDefault();
    void attempt(async () => {
      const answer = must(await api.POST("/api/v1/contacts/search/handle", { body: { handle: handle.trim() } }));
      setFound(answer.users);
    });
  };

  const message = (userId: number) =>
    attempt(async () => {
      const conversation = must(await api.POST("/api/v1/conversations", { body: { kind: "direct", user_id: userId } }));
      await store.loadConversations();
      props.onOpen(conversation.id);
    });

  const befriend = (userId: number) =>
    attempt(async () => {
      let sent: Schemas["FriendRequest"];
      try {
        sent = must(await api.POST("/api/v1/friend-requests", { body: { user_id: userId, greeting: t("contacts.greeting") } }));
      } catch (refused) {
        // Friends already (made elsewhere): the result then says so instead of offering again.
        if (refused instanceof ApiError && refused.code === "already_friends") await store.loadFriends();
        throw refused;
      }
      if (sent.state === "accepted") {
        // They had asked first: asking back accepted their request.
        await refresh();
        return t("contacts.befriended");
      }
      setAsked((before) => new Set(before).add(userId));
      return t("contacts.requested");
    });

  const answer = (userId: number, what: "accept" | "decline") =>
    attempt(async () => {
      const path = what === "accept" ? "/api/v1/friend-requests/{user_id}/accept" : "/api/v1/friend-requests/{user_id}/decline";
      must(await api.POST(path, { params: { path: { user_id: userId } } }));
      await refresh();
    });

  const block = (userId: number, blocking: boolean) =>
    attempt(async () => {
      const params = { params: { path: { user_id: userId } } };
      const path = "/api/v1/contacts/{user_id}/block";
      must(await (blocking ? api.PUT(path, params) : api.DELETE(path, params)));
      await store.loadFriends();
    });

  const name = (userId: number) => store.nameOf(userId) ?? t("chat.someone", { id: userId });

  return (
    <div class="contacts">
      <form class="search" role="search" onSubmit={search}>
        <label>
          {t("contacts.find")}
          <input name="handle" autocapitalize="none" value={handle} onInput={(e) => setHandle(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("contacts.search")}</button>
      </form>
      {notice && <p role="status">{notice}</p>}
      {found && found.length === 0 && <p>{t("contacts.none")}</p>}
      {found?.map((user) => (
        <div class="person" key={user.id}>
          <span>
            {user.display_name} <small>@{user.handle}</small>
          </span>
          <button type="button" onClick={() => void message(user.id)}>
            {t("contacts.message")}
          </button>
          {store.friends.some((friend) => friend.user_id === user.id) ? (
            <small>{t("contacts.friend")}</small>
          ) : asked.has(user.id) ? (
            <button type="button" class="quiet" disabled>
              {t("contacts.request_sent")}
            </button>
          ) : (
            <button type="button" class="quiet" onClick={() => void befriend(user.id)}>
              {t("contacts.add")}
            </button>
          )}
          <BlockButton name={user.display_name} onBlock={() => void block(user.id, true)} />
          <ReportButton target="user" id={user.id} label={t("report.named", { name: user.display_name })} />
        </div>
      ))}
      {requests.length > 0 && (
        <section aria-labelledby="requests-title">
          <h3 id="requests-title">{t("contacts.requests")}</h3>
          {requests.map((request) => (
            <div class="person" key={request.requester_id}>
              <span>
                {name(request.requester_id)}: <q>{request.greeting}</q>
              </span>
              <button type="button" onClick={() => void answer(request.requester_id, "accept")}>
                {t("contacts.accept")}
              </button>
              <button type="button" class="quiet" onClick={() => void answer(request.requester_id, "decline")}>
                {t("contacts.decline")}
              </button>
            </div>
          ))}
        </section>
      )}
      <section aria-labelledby="friends-title">
        <h3 id="friends-title">{t("contacts.friends")}</h3>
        {store.friends.length === 0 && <p>{t("contacts.no_friends")}</p>}
        {store.friends.map((friend) => (
          <div class="person" key={friend.user_id}>
            <span>{friend.remark ?? name(friend.user_id)}</span>
            <button type="button" onClick={() => void message(friend.user_id)}>
              {t("contacts.message")}
            </button>
            <BlockButton name={friend.remark ?? name(friend.user_id)} onBlock={() => void block(friend.user_id, true)} />
            <ReportButton
              target="user"
              id={friend.user_id}
              label={t("report.named", { name: friend.remark ?? name(friend.user_id) })}
            />
          </div>
        ))}
      </section>
      {store.blocked.length > 0 && (
        <section aria-labelledby="blocked-title">
          <h3 id="blocked-title">{t("contacts.blocked")}</h3>
          <p>
            <small>{t("contacts.blocked_note")}</small>
          </p>
          {store.blocked.map((tie) => (
            <div class="person" key={tie.user_id}>
              <span>{tie.remark ?? name(tie.user_id)}</span>
              <button type="button" class="quiet" onClick={() => void block(tie.user_id, false)}>
                {t("contacts.unblock")}
              </button>
              <ReportButton
                target="user"
                id={tie.user_id}
                label={t("report.named", { name: tie.remark ?? name(tie.user_id) })}
              />
            </div>
          ))}
        </section>
      )}
    </div>
  );
}

function BlockButton(props: { name: string; onBlock(): void }) {
  return (
    <button type="button" class="quiet" aria-label={t("contacts.block_named", { name: props.name })} onClick={props.onBlock}>
      {t("contacts.block")}
    </button>
  );
}
