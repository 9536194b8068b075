import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { useOutcome } from "../hooks";
import { formatTime, t } from "../i18n";
import type { ChatStore } from "../store";
import { MyAccounts } from "./MyAccounts";

type OwnSession = Schemas["OwnSession"];

/** The user's own page: profile, public accounts they run, password, sessions, leaving. */
export function Me(props: { store: ChatStore; onSignedOut(): void }) {
  return (
    <div class="me">
      <Profile store={props.store} />
      <MyAccounts />
      <Password />
      <Sessions />
      <Deregister handle={props.store.me.handle} onGone={props.onSignedOut} />
    </div>
  );
}

function Profile({ store }: { store: ChatStore }) {
  const [displayName, setDisplayName] = useState(store.me.display_name);
  const [bio, setBio] = useState(store.me.bio);
  const [said, attempt] = useOutcome();

  const save = (event: Event) => {
    event.preventDefault();
    void attempt(async () => {
      store.setProfile(must(await api.PATCH("/api/v1/me", { body: { display_name: displayName, bio } })));
      return t("me.saved");
    });
  };

  return (
    <section aria-labelledby="profile-title">
      <h3 id="profile-title">{t("me.profile")}</h3>
      <form onSubmit={save}>
        <label>
          {t("register.display_name")}
          <input
            name="display_name"
            required
            maxLength={64}
            value={displayName}
            onInput={(e) => setDisplayName(e.currentTarget.value)}
          />
        </label>
        <label>
          {t("me.bio")}
          <textarea name="bio" rows={2} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
        </label>
        <small>@{store.me.handle}</small>
        {said && <p role="status">{said}</p>}
        <button type="submit">{t("me.save")}</button>
      </form>
    </section>
  );
}

function Password() {
  const [current, setCurrent] = useState("");
  const [chosen, setChosen] = useState("");
  const [said, attempt] = useOutcome();

  const change = (event: Event) => {
    event.preventDefault();
    void attempt(async () => {
      must(await api.POST("/api/v1/me/password", { body: { current_password: current, new_password: chosen } }));
      setCurrent("");
      setChosen("");
      return t("me.password.changed");
    });
  };

  return (
    <section aria-labelledby="password-title">
      <h3 id="password-title">{t("me.password")}</h3>
      <form onSubmit={change}>
        <label>
          {t("me.password.current")}
          <input
            name="current_password"
            type="password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          {t("me.password.new")}
          <input
            name="new_password"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            value={chosen}
            onInput={(e) => setChosen(e.currentTarget.value)}
          />
          <small>{t("register.password.hint")}</small>
        </label>
        {said && <p role="status">{said}</p>}
        <button type="submit">{t("me.password.change")}</button>
      </form>
    </section>
  );
}

function Sessions() {
  const [sessions, setSessions] = useState<OwnSession[]>([]);
  const [said, attempt] = useOutcome();

  async function refresh(): Promise<void> {
    setSessions(must(await api.GET("/api/v1/me/sessions")).sessions);
  }

  useEffect(() => {
    void refresh();
  }, []);

  const end = (session: OwnSession) =>
    attempt(async () => {
      must(await api.DELETE("/api/v1/me/sessions/{session_id}", { params: { path: { session_id: session.id } } }));
      await refresh();
      return t("me.sessions.ended");
    });

  return (
    <section aria-labelledby="sessions-title">
      <h3 id="sessions-title">{t("me.sessions")}</h3>
      {said && <p role="status">{said}</p>}
      <ul class="sessions">
        {sessions.map((session) => (
          <li key={session.id} class="person">
            <span>
              {session.device ?? t("me.sessions.unnamed")}
              {session.current && <span class="badge">{t("me.sessions.this")}</span>}
              <br />
              <small>{t("me.sessions.seen", { at: formatTime(session.last_seen_at) })}</small>
            </span>
            {!session.current && (
              <button type="button" class="quiet" onClick={() => void end(session)}>
                {t("me.sessions.end")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Leaving for good, with what it means spelled out first and the handle typed to confirm. */
function Deregister(props: { handle: string; onGone(): void }) {
  const [typed, setTyped] = useState("");
  const [said, attempt] = useOutcome();

  const leave = (event: Event) => {
    event.preventDefault();
    void attempt(async () => {
      must(await api.DELETE("/api/v1/me"));
      props.onGone();
    });
  };

  return (
    <section class="danger" aria-labelledby="deregister-title">
      <h3 id="deregister-title">{t("me.deregister")}</h3>
      <ul>
        <li>{t("me.deregister.sessions")}</li>
        <li>{t("me.deregister.name")}</li>
        <li>{t("me.deregister.accounts")}</li>
        <li>{t("me.deregister.identity")}</li>
        <li>{t("me.deregister.final")}</li>
      </ul>
      <form onSubmit={leave}>
        <label>
          {t("me.deregister.confirm", { handle: props.handle })}
          <input
            name="confirm_handle"
            autocapitalize="none"
            autocomplete="off"
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </label>
        {said && <p role="status">{said}</p>}
        <button type="submit" class="danger" disabled={typed.trim() !== props.handle}>
          {t("me.deregister.submit")}
        </button>
      </form>
    </section>
  );
}
