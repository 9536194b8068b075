import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { useOutcome } from "../hooks";
import { formatTime, t } from "../i18n";
import type { ChatStore } from "../store";
import { identityAdvice } from "../verification";
import { sayDeregistered } from "./Login";
import { MyAccounts } from "./MyAccounts";

type OwnSession = Schemas["OwnSession"];
type OwnIdentity = Schemas["OwnIdentity"];

/** The user's own page: profile, public accounts they run, password, sessions, leaving. */
export function Me(props: { store: ChatStore; onSignedOut(): void }) {
  return (
    <div class="me">
      <Profile store={props.store} />
      {props.store.me.identity && <Verification store={props.store} identity={props.store.me.identity} />}
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

/** Where the user stands on verification: the identity's state and what to do next, and the
 * phone, confirmed here with a code sent by SMS (docs/identity.md). */
function Verification({ store, identity }: { store: ChatStore; identity: OwnIdentity }) {
  const advice = identityAdvice(identity);
  const [checkSaid, attemptCheck, checking] = useOutcome(); // one check at a time

  const checkAgain = () =>
    void attemptCheck(async () => {
      must(await api.POST("/api/v1/me/identity/check"));
      await store.refreshProfile();
      return t("me.verify.checked");
    });

  return (
    <section class="verification" aria-labelledby="verification-title">
      <h3 id="verification-title">{t("me.verify")}</h3>
      <p>
        <small>{t("me.verify.intro")}</small>
      </p>
      <h4>{t("me.verify.identity")}</h4>
      <p class="identity-state" data-status={identity.status}>
        {advice.verified && <span class="badge">✓</span>} {t(advice.state)}
      </p>
      {identity.status === "rejected" && identity.reason && (
        <p class="identity-reason">{t("me.verify.reason", { reason: identity.reason })}</p>
      )}
      {advice.next && <p class="identity-next">{t(advice.next)}</p>}
      {advice.canCheckAgain && (
        <button type="button" class="quiet" disabled={checking} aria-busy={checking} onClick={checkAgain}>
          {checking ? t("me.verify.checking") : t("me.verify.check_again")}
        </button>
      )}
      {checkSaid && <p role="status">{checkSaid}</p>}
      <h4>{t("me.verify.phone")}</h4>
      {identity.phone_confirmed ? (
        <p class="phone-state" data-confirmed="true">
          <span class="badge">✓</span> {t("me.verify.phone.confirmed", { phone: identity.phone })}
        </p>
      ) : (
        <PhoneCode store={store} phone={identity.phone} />
      )}
    </section>
  );
}

/** Ask for an SMS code, then send it back; each button is busy while its request is in flight. */
function PhoneCode({ store, phone }: { store: ChatStore; phone: string }) {
  const [sentUntil, setSentUntil] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [said, attempt, inFlight] = useOutcome(); // one request at a time
  const [doing, setDoing] = useState<"sending" | "confirming" | null>(null);
  const busy = inFlight ? doing : null;

  const run = (what: "sending" | "confirming", action: () => Promise<string | void>) => {
    setDoing(what);
    void attempt(action);
  };

  const send = () =>
    run("sending", async () => {
      const sent = must(await api.POST("/api/v1/me/phone/code"));
      setSentUntil(sent.expires_at);
      setCode("");
      return t("me.verify.phone.sent", { phone, at: formatTime(sent.expires_at) });
    });

  const confirm = (event: Event) => {
    event.preventDefault();
    run("confirming", async () => {
      must(await api.POST("/api/v1/me/phone/verify", { body: { code: code.trim() } }));
      await store.refreshProfile(); // the section then shows the phone confirmed
      return t("me.verify.phone.done");
    });
  };

  return (
    <div class="phone-code" aria-busy={busy !== null}>
      <p class="phone-state" data-confirmed="false">
        {t("me.verify.phone.unconfirmed", { phone })}
      </p>
      <button type="button" class={sentUntil ? "quiet" : undefined} disabled={busy !== null} onClick={send}>
        {busy === "sending"
          ? t("me.verify.phone.sending")
          : sentUntil
            ? t("me.verify.phone.resend")
            : t("me.verify.phone.send")}
      </button>
      {sentUntil && (
        <form onSubmit={confirm}>
          <label>
            {t("me.verify.phone.code")}
            <input
              name="phone_code"
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              maxLength={12}
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy !== null || code.trim() === ""}>
            {busy === "confirming" ? t("me.verify.phone.confirming") : t("me.verify.phone.confirm")}
          </button>
        </form>
      )}
      {said && <p role="status">{said}</p>}
    </div>
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
      sayDeregistered();
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
