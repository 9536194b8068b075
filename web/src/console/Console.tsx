import { useEffect, useState } from "preact/hooks";
import { api, must, setToken, type Schemas } from "../api/client";
import { chooseLanguage, currentLanguage, type Language } from "../i18n/core";
import { LanguagePicker } from "../SignIn";
import { Access, screenAt, screensFor, type Screen } from "./access";
import { t } from "./i18n";
import { Login } from "./screens/Login";
import { Cases } from "./screens/Cases";
import { Identities } from "./screens/Identities";
import { Applications } from "./screens/Applications";
import { Sanctions } from "./screens/Sanctions";
import { Appeals } from "./screens/Appeals";
import { Lexicon } from "./screens/Lexicon";
import { Detection } from "./screens/Detection";
import { AuditLog } from "./screens/AuditLog";
import { Dashboard } from "./screens/Dashboard";
import { Records } from "./screens/Records";

export interface Staff {
  me: Schemas["Me"];
  access: Access;
  /** Open another screen, with a query it reads on opening (`?user=5`). */
  open?(screen: Screen, query?: string): void;
}

export function Console() {
  const [language, setLanguage] = useState<Language>(currentLanguage());
  const [staff, setStaff] = useState<Staff | null>(null);
  const [screen, setScreen] = useState<Screen | null>(null);
  const [visit, setVisit] = useState(0); // a new visit opens the screen afresh
  const allowed = staff ? screensFor(staff.access) : [];

  useEffect(() => {
    const follow = () => setScreen(screenAt(location.pathname, allowed));
    addEventListener("popstate", follow);
    return () => removeEventListener("popstate", follow);
  }, [staff]);

  async function signedIn(token: string): Promise<void> {
    setToken(token);
    const me = must(await api.GET("/api/v1/me"));
    const signed = { me, access: new Access(me.permissions) };
    setStaff(signed);
    setScreen(screenAt(location.pathname, screensFor(signed.access)));
  }

  async function logOut(): Promise<void> {
    try {
      await api.DELETE("/api/v1/sessions/current");
    } finally {
      setToken(null);
      setStaff(null);
    }
  }

  function open(chosen: Screen, query = ""): void {
    history.pushState(null, "", `/console/${chosen}${query}`);
    setScreen(chosen);
    setVisit((n) => n + 1);
  }

  function pick(chosen: Language): void {
    chooseLanguage(chosen);
    setLanguage(chosen);
  }

  return (
    <div class="console" lang={language}>
      <header class="bar">
        <h1>{t("console.name")}</h1>
        <LanguagePicker label={t("language.label")} value={language} onPick={pick} />
        {staff && (
          <>
            <span class="who">
              {t("console.signed_in_as", {
                handle: staff.me.handle,
                role: t(`role.${staff.me.role}`),
              })}
            </span>
            <button type="button" class="quiet" onClick={() => void logOut()}>
              {t("logout")}
            </button>
          </>
        )}
      </header>
      {!staff ? (
        <Login onLoggedIn={signedIn} />
      ) : allowed.length === 0 || screen === null ? (
        <main class="card narrow">
          <p role="alert">{t("console.not_staff")}</p>
          <a href="/app/">{t("console.to_app")}</a>
        </main>
      ) : (
        <div class="desk">
          <nav aria-label={t("console.screens")}>
            {allowed.map((name) => (
              <a
                key={name}
                href={`/console/${name}`}
                aria-current={name === screen ? "page" : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  open(name);
                }}
              >
                {t(`nav.${name}`)}
              </a>
            ))}
          </nav>
          <main class="work">
            <ScreenOf key={visit} screen={screen} staff={{ ...staff, open }} />
          </main>
        </div>
      )}
    </div>
  );
}

function ScreenOf({ screen, staff }: { screen: Screen; staff: Staff }) {
  switch (screen) {
    case "cases":
      return <Cases staff={staff} />;
    case "identities":
      return <Identities staff={staff} />;
    case "applications":
      return <Applications staff={staff} />;
    case "sanctions":
      return <Sanctions staff={staff} />;
    case "appeals":
      return <Appeals staff={staff} />;
    case "lexicon":
      return <Lexicon staff={staff} />;
    case "detection":
      return <Detection staff={staff} />;
    case "audit":
      return <AuditLog staff={staff} />;
    case "dashboard":
      return <Dashboard />;
    case "records":
      return <Records />;
  }
}
