import { useEffect, useState } from "preact/hooks";
import { api, must, setToken } from "./api/client";
import { chooseLanguage, currentLanguage, t, type Language } from "./i18n";
import { LanguagePicker } from "./SignIn";
import { Live, type ConnectionState } from "./live";
import { ChatStore } from "./store";
import { Login } from "./screens/Login";
import { Register } from "./screens/Register";
import { Main } from "./screens/Main";

export interface Session {
  store: ChatStore;
  live: Live;
}

function socketUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/ws`;
}

async function begin(token: string, onState: (state: ConnectionState) => void): Promise<Session> {
  setToken(token);
  const store = new ChatStore(must(await api.GET("/api/v1/me")));
  let loaded = false;
  const live = new Live(
    { url: socketUrl(), token, cursor: null },
    {
      event: (frame) => store.apply(frame),
      answer: (frame) => store.answer(frame),
      state: (state) => {
        onState(state);
        // Loaded once the socket is ready: what happens after that arrives live.
        if (state.kind === "online" && !loaded) {
          loaded = true;
          void store.loadConversations();
          void store.loadInvitations();
          void store.loadFriends();
        }
      },
    },
  );
  live.start();
  return { store, live };
}

export function App() {
  const [language, setLanguage] = useState<Language>(currentLanguage());
  const [screen, setScreen] = useState<"login" | "register">("login");
  const [session, setSession] = useState<Session | null>(null);
  const [connection, setConnection] = useState<ConnectionState>({ kind: "connecting" });

  useEffect(() => {
    if (connection.kind === "signed_out") end();
  }, [connection]);

  function end(): void {
    session?.live.stop();
    setToken(null);
    setSession(null);
    setScreen("login");
  }

  async function logOut(): Promise<void> {
    try {
      await api.DELETE("/api/v1/sessions/current");
    } finally {
      end(); // signed out here even when the server could not be told (it expires the token)
    }
  }

  function pick(chosen: Language): void {
    chooseLanguage(chosen);
    setLanguage(chosen);
  }

  return (
    <div class="app" lang={language}>
      <header class="bar">
        <h1>{t("app.name")}</h1>
        <LanguagePicker label={t("language.label")} value={language} onPick={pick} />
        {session && (
          <>
            <ConnectionBadge state={connection} />
            <button type="button" class="quiet" onClick={() => void logOut()}>
              {t("logout")}
            </button>
          </>
        )}
      </header>
      {session ? (
        <Main session={session} onSignedOut={end} />
      ) : screen === "login" ? (
        <Login
          onRegister={() => setScreen("register")}
          onLoggedIn={async (token) => setSession(await begin(token, setConnection))}
        />
      ) : (
        <Register onDone={() => setScreen("login")} />
      )}
    </div>
  );
}

function ConnectionBadge({ state }: { state: ConnectionState }) {
  const text =
    state.kind === "online"
      ? t("connection.online")
      : state.kind === "offline"
        ? t("connection.offline", { seconds: state.retryInSeconds })
        : t("connection.connecting");
  return (
    <span class={`connection ${state.kind}`} role="status" data-state={state.kind}>
      {text}
    </span>
  );
}
