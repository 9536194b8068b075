import { render } from "preact";
import { App } from "./App";
import { currentLanguage } from "./i18n";
import "./styles.css";

document.documentElement.lang = currentLanguage();
render(<App />, document.getElementById("root")!);

// The offline shell: the service worker keeps the app's own files, never the API's answers.
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  void navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
}
